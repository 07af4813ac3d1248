// The watch page: player + socket + chat + reactions + viewer count, all driven by the events
// of one socket (docs/realtime.md). Nothing here polls.
import { Realtime } from "../realtime.js";
import { readConfig } from "../util.js";
import { createChat } from "./chat.js";
import { createPlayer } from "./player.js";
import { createReactions } from "./reactions.js";

const config = readConfig("watch-config");
const realtime = new Realtime(config.streamId);
const playerRoot = document.querySelector("[data-player]");
const statusEl = document.querySelector("[data-status]");
const viewerWrap = document.querySelector("[data-viewer-wrap]");
const viewerCount = document.querySelector("[data-viewer-count]");
const STATUS_LABELS = { scheduled: "Scheduled", preparing: "Preparing", live: "Live", ended: "Ended", archived: "Replay", cancelled: "Cancelled" };

function whenHlsReady(fn) {
  // hls.min.js is a deferred classic script; modules run after it, but be safe.
  if (window.Hls || document.readyState === "complete") fn();
  else window.addEventListener("load", fn, { once: true });
}

function setStatus(status, extra = "") {
  if (!statusEl) return;
  statusEl.textContent = (STATUS_LABELS[status] || status) + extra;
  statusEl.className = `status-pill status-${status}`;
  statusEl.hidden = status === "live" && !extra; // the LIVE badge says it
}

// The stream's replay was published while this page was open: offer it (the server renders the
// replay player and its chat replay, so a reload is the whole switch).
function replayReady() {
  const overlay = document.querySelector("[data-overlay]");
  if (!overlay || document.querySelector("[data-replay-ready]")) return;
  const kicker = overlay.querySelector(".overlay-kicker");
  if (kicker) kicker.textContent = "The replay is ready";
  const link = Object.assign(document.createElement("a"), { className: "btn", href: location.pathname, textContent: "Watch the replay" });
  link.dataset.replayReady = "";
  const detail = overlay.querySelector("[data-overlay-detail]");
  detail?.replaceChildren("Watch the show again, with its chat. ", link);
}

whenHlsReady(() => {
  const player = createPlayer(playerRoot);
  window.__player = player;
  const chatRoot = document.querySelector("[data-chat]");
  const chat = chatRoot ? createChat(chatRoot, { realtime, config }) : null;
  createReactions({
    bar: document.querySelector("[data-reactions]"),
    layer: document.querySelector("[data-reaction-layer]"),
    realtime, config,
  });

  let status = config.status;
  if (status === "live" && config.hlsUrl) {
    if (config.interrupted) player.interrupted();
    player.start(config.hlsUrl);
    if (config.interrupted) player.interrupted();
  }

  realtime
    .on("stream:start", (event) => {
      status = "live";
      setStatus("live");
      const heading = document.querySelector(".stream-heading");
      if (heading && !heading.querySelector("[data-live-badge]")) {
        const badge = Object.assign(document.createElement("span"), { className: "badge live", textContent: "LIVE" });
        badge.dataset.liveBadge = "";
        heading.prepend(badge, " ");
      }
      if (viewerWrap) viewerWrap.hidden = false;
      const line = document.querySelector("[data-schedule-line]");
      if (line) line.textContent = "started just now";
      player.start(event.hls_url || config.hlsUrl);
    })
    .on("stream:interrupted", () => { setStatus("live", " · reconnecting"); player.interrupted(); })
    .on("stream:resumed", (event) => { setStatus("live"); player.resumed(event.hls_url); })
    .on("stream:end", (event) => {
      status = "ended";
      setStatus("ended");
      if (viewerWrap) viewerWrap.hidden = true;
      document.querySelector("[data-live-badge]")?.remove();
      const thanks = event.reason && event.reason !== "ended" ? `The stream ended (${event.reason}). Thanks for watching!` : "Thanks for watching!";
      player.ended(config.record ? `${thanks} The replay appears here once it is ready.` : thanks);
    })
    .on("stream:status", (event) => {
      status = event.status;
      setStatus(event.status);
      if (event.status === "preparing") player.waiting("Getting ready", "The artist is setting up. The video starts here by itself.");
      if (event.status === "cancelled") player.waiting("Cancelled", "This show will not take place.");
      if (event.status === "archived") replayReady();
    })
    .on("stream:settings", (event) => {
      // A transcode ladder started or stopped: its master playlist replaces the source (or back).
      if (status === "live" && event.hls_url && event.hls_url !== player.url) player.start(event.hls_url);
    })
    .on("hello", (event) => { if (viewerCount && typeof event.viewer_count === "number") viewerCount.textContent = event.viewer_count.toLocaleString(); })
    .on("stream:viewer-count", (event) => { if (viewerCount) viewerCount.textContent = Number(event.count).toLocaleString(); });

  const ready = chat ? chat.loadHistory() : Promise.resolve();
  ready.finally(() => realtime.connect());
  window.__realtime = realtime;
});
