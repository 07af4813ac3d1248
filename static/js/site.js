// Every page: live countdowns, local times, elapsed clocks, confirmation for dangerous forms,
// share and copy buttons. Pages work without it; it only makes them nicer.
import { api, confirmDialog, copyText, formatClock, formatCountdown, toast } from "./util.js";

const localFormat = new Intl.DateTimeFormat(undefined, { weekday: "short", day: "numeric", month: "short", hour: "2-digit", minute: "2-digit" });
const longFormat = new Intl.DateTimeFormat(undefined, { weekday: "long", day: "numeric", month: "long", hour: "2-digit", minute: "2-digit" });

function tick() {
  const now = Date.now();
  for (const el of document.querySelectorAll("time[data-countdown]")) {
    const at = Date.parse(el.getAttribute("datetime"));
    if (Number.isNaN(at)) continue;
    const left = (at - now) / 1000;
    if (el.hasAttribute("data-countdown-long")) {
      el.textContent = left > 86400 ? longFormat.format(at) : formatCountdown(left).replace(/^in /, "Starts in ");
      el.title = longFormat.format(at);
    } else {
      el.textContent = left > 7 * 86400 ? localFormat.format(at) : formatCountdown(left);
      el.title = longFormat.format(at);
    }
  }
  for (const el of document.querySelectorAll("time[data-elapsed][datetime]")) {
    const from = Date.parse(el.getAttribute("datetime"));
    const until = el.dataset.until ? Date.parse(el.dataset.until) : now;
    if (!Number.isNaN(from)) el.textContent = formatClock((until - from) / 1000);
  }
}

for (const el of document.querySelectorAll("time[data-localtime]")) {
  const at = Date.parse(el.getAttribute("datetime"));
  if (!Number.isNaN(at)) el.textContent = localFormat.format(at);
}
tick();
setInterval(tick, 1000);

// Follow / unfollow without leaving the page (a watch page keeps playing); the plain form is the fallback.
async function follow(form, submitter) {
  const button = submitter || form.querySelector("button");
  const following = button.value === "unfollow";
  button.disabled = true;
  try {
    await api(`/api/v1/artists/${encodeURIComponent(form.dataset.follow)}/follow/`, { method: following ? "DELETE" : "POST" });
    button.value = following ? "follow" : "unfollow";
    button.textContent = following ? "Follow" : "Following ✓";
    button.classList.toggle("primary", following);
    button.setAttribute("aria-pressed", String(!following));
    const count = document.querySelector("[data-follower-count]");
    if (count) count.textContent = String(Math.max(0, Number(count.textContent.replace(/\D/g, "")) + (following ? -1 : 1)));
    toast(following ? "Unfollowed" : "Following – you'll hear about the next show");
  } catch (error) {
    toast(error.message);
  } finally {
    button.disabled = false;
  }
}

// <form data-confirm="..."> asks before submitting (end stream, rotate key, cancel).
document.addEventListener("submit", async (event) => {
  const form = event.target;
  if (form instanceof HTMLFormElement && form.dataset.follow) {
    event.preventDefault();
    follow(form, event.submitter);
    return;
  }
  if (!(form instanceof HTMLFormElement) || !form.dataset.confirm || form.dataset.confirmed) return;
  event.preventDefault();
  const submitter = event.submitter;
  if (await confirmDialog(form.dataset.confirm)) {
    form.dataset.confirmed = "1";
    if (submitter && submitter.name) {
      const hidden = Object.assign(document.createElement("input"), { type: "hidden", name: submitter.name, value: submitter.value });
      form.append(hidden);
    }
    form.submit();
  }
});

document.addEventListener("click", async (event) => {
  const share = event.target.closest("[data-share]");
  if (share) {
    const url = share.dataset.url || location.href;
    if (navigator.share) {
      try { await navigator.share({ title: document.title, url }); } catch { /* dismissed */ }
    } else {
      await copyText(url);
      toast("Link copied");
    }
  }
});
