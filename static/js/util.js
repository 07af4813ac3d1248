// Small helpers shared by every page script. No dependencies.

export function cookie(name) {
  const match = document.cookie.split("; ").find((row) => row.startsWith(name + "="));
  return match ? decodeURIComponent(match.split("=")[1]) : "";
}

/** fetch() for our JSON API with the session cookie and Django's CSRF header. */
export async function api(path, { method = "GET", body } = {}) {
  const headers = { Accept: "application/json" };
  if (method !== "GET") headers["X-CSRFToken"] = cookie("csrftoken") || csrfFromPage();
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(path, {
    method, headers, credentials: "same-origin", body: body === undefined ? undefined : JSON.stringify(body),
  });
  let data = null;
  try { data = response.status === 204 ? null : await response.json(); } catch { data = null; }
  if (!response.ok) {
    const error = new Error((data && (data.detail || data.message)) || `Request failed (${response.status})`);
    error.status = response.status;
    error.data = data;
    throw error;
  }
  return data;
}

function csrfFromPage() {
  const input = document.querySelector("input[name=csrfmiddlewaretoken]");
  return input ? input.value : "";
}

export function toast(text) {
  const el = document.createElement("div");
  el.className = "toast";
  el.setAttribute("role", "status");
  el.textContent = text;
  document.body.append(el);
  setTimeout(() => el.remove(), 2300);
}

export function pad(n) { return String(n).padStart(2, "0"); }

/** "2d 4h", "3h 05m", "12:04" for a number of seconds in the future. */
export function formatCountdown(seconds) {
  if (seconds <= 0) return "any moment now";
  const d = Math.floor(seconds / 86400), h = Math.floor(seconds / 3600) % 24;
  const m = Math.floor(seconds / 60) % 60, s = Math.floor(seconds) % 60;
  if (d > 0) return `in ${d}d ${h}h`;
  if (h > 0) return `in ${h}h ${pad(m)}m`;
  return `in ${m}:${pad(s)}`;
}

export function formatClock(seconds) {
  seconds = Math.max(0, Math.floor(seconds));
  return `${Math.floor(seconds / 3600)}:${pad(Math.floor(seconds / 60) % 60)}:${pad(seconds % 60)}`;
}

export async function copyText(text) {
  try {
    await navigator.clipboard.writeText(text);
  } catch {
    // Clipboard API refused (http:// origin, no permission): fall back to a hidden textarea.
    const area = document.createElement("textarea");
    area.value = text;
    area.setAttribute("readonly", "");
    area.style.position = "fixed";
    area.style.opacity = "0";
    document.body.append(area);
    area.select();
    document.execCommand("copy");
    area.remove();
  }
}

export function readConfig(id) {
  const el = document.getElementById(id);
  return el ? JSON.parse(el.textContent) : {};
}

/** A confirmation dialog; resolves true when confirmed. Falls back to window.confirm(). */
export function confirmDialog(message, { okLabel = "Yes, do it", cancelLabel = "Keep going" } = {}) {
  if (typeof HTMLDialogElement !== "function") return Promise.resolve(window.confirm(message));
  return new Promise((resolve) => {
    const dialog = document.createElement("dialog");
    dialog.className = "confirm";
    dialog.setAttribute("aria-label", "Please confirm");
    const p = document.createElement("p");
    p.textContent = message;
    const menu = document.createElement("menu");
    const cancel = Object.assign(document.createElement("button"), { type: "button", className: "btn", textContent: cancelLabel });
    const ok = Object.assign(document.createElement("button"), { type: "button", className: "btn danger", textContent: okLabel });
    ok.dataset.confirmOk = "";
    menu.append(cancel, ok);
    dialog.append(p, menu);
    document.body.append(dialog);
    const done = (value) => { dialog.close(); dialog.remove(); resolve(value); };
    cancel.addEventListener("click", () => done(false));
    ok.addEventListener("click", () => done(true));
    dialog.addEventListener("cancel", (e) => { e.preventDefault(); done(false); });
    dialog.showModal();
    cancel.focus();
  });
}
