// The control room's replay panel (templates/studio/_replay.html). The server renders it; this
// keeps its progress bar live from "stream:replay-progress" (owner/staff socket) and, when the
// build ends (ready or failed), reloads the page so the server-rendered panel shows the outcome.
// The delete form asks first (the checkbox does it without JavaScript).
import { api, confirmDialog } from "../util.js";

const root = document.querySelector("[data-replay-panel]");

function show(progress) {
  const bar = root.querySelector("[data-replay-progress]");
  const percent = root.querySelector("[data-replay-percent]");
  if (bar) { bar.value = progress; bar.textContent = `${Math.round(progress * 100)}%`; }
  if (percent) percent.textContent = `${Math.round(progress * 100)}%`;
}

function onEvent(event) {
  if (event.status === "processing") { show(Number(event.progress) || 0); return; }
  if (event.status !== root.dataset.status) window.location.reload();
}

function start() {
  const realtime = window.__realtime; // control_room.js owns the page's one socket
  if (realtime) realtime.on("stream:replay-progress", onEvent);
  if (root.querySelector("[data-replay-progress]")) {
    // What happened before the socket was up: the build may have moved on, or finished.
    api(`/api/v1/livestreams/${root.dataset.streamId}/replay/`).then(onEvent).catch(() => {});
  }
  const del = root.querySelector("[data-replay-delete]");
  if (del) {
    const box = del.querySelector("input[name=confirm]");
    if (box) { box.checked = true; box.closest("label").hidden = true; }
    del.addEventListener("submit", async (event) => {
      if (del.dataset.confirmed) return;
      event.preventDefault();
      if (await confirmDialog(del.dataset.confirm, { okLabel: "Delete replay", cancelLabel: "Keep it" })) {
        del.dataset.confirmed = "1";
        del.requestSubmit(event.submitter);
      }
    });
  }
}

if (root) {
  try { start(); } catch (error) { console.error("replay panel failed", error); }
}
