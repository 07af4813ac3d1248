// The replay of an archived stream (templates/livestreams/_replay_player.html): the MP4 in the live
// player's module (an MP4 plays natively in <video>: no hls.js), a seek bar, and the chat replayed
// in sync. Messages come from GET /api/v1/livestreams/<id>/replay/chat/, each with `offset` (seconds
// from the stream's start, the video's time); a message shows once currentTime passes its offset,
// and a seek re-renders the log as of the new time. Messages are rendered by the chat panel's
// messageElement (textContent only). There is no chat input on a replay.
import { api, formatClock, readConfig } from "../util.js";
import { messageElement } from "./chat.js";
import { createPlayer } from "./player.js";

const MAX_SHOWN = 300;
const config = readConfig("watch-config");
const playerRoot = document.querySelector("[data-player]");
const log = document.querySelector("[data-replay-chat] [data-chat-log]");
const seek = playerRoot.querySelector("[data-replay-seek]");
const timeEl = playerRoot.querySelector("[data-replay-time]");


/** Chat messages by offset, and how many of them are on screen (a prefix of the list). */
const messages = [];
let shown = 0;

async function loadChat() {
  let after = null;
  // A long show's chat comes in pages; each is merged in as it arrives, so the log fills while
  // later pages load.
  for (let page = 0; page < 200; page += 1) {
    const query = after === null ? "" : `?after=${encodeURIComponent(after)}`;
    const data = await api(`/api/v1/livestreams/${config.streamId}/replay/chat/${query}`);
    messages.push(...data.results);
    sync();
    if (data.next_after === null || data.next_after === undefined) break;
    after = data.next_after;
  }
}

/** How many messages were sent by video time `t` (binary search: offsets are sorted). */
function countUpTo(t) {
  let lo = 0;
  let hi = messages.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (messages[mid].offset <= t) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function sync() {
  const target = countUpTo(playerRoot.querySelector("[data-video]").currentTime);
  if (target === shown) return;
  const empty = log.querySelector("[data-chat-empty]");
  if (target < shown || target - shown > MAX_SHOWN) {
    // Seeked back (or far forward): rebuild the log as of the new time.
    log.replaceChildren(...messages.slice(Math.max(0, target - MAX_SHOWN), target).map((m) => messageElement(m, config)));
    if (!target && empty) log.append(empty);
  } else {
    if (empty) empty.remove();
    log.append(...messages.slice(shown, target).map((m) => messageElement(m, config)));
    while (log.children.length > MAX_SHOWN) log.firstElementChild.remove();
  }
  shown = target;
  log.scrollTop = log.scrollHeight;
}

const player = createPlayer(playerRoot);
const video = player.video;
window.__player = player;
if (config.replay && !video.getAttribute("src")) video.src = config.replay.playback_url;

video.addEventListener("timeupdate", () => {
  sync();
  if (seek && !seek.matches(":active")) seek.value = String(video.currentTime);
  if (timeEl) timeEl.textContent = formatClock(video.currentTime);
});
video.addEventListener("seeked", sync);
video.addEventListener("loadedmetadata", () => { if (seek && Number.isFinite(video.duration)) seek.max = String(video.duration); });
video.addEventListener("ended", () => { playerRoot.dataset.playing = ""; });
seek && seek.addEventListener("input", () => { video.currentTime = Number(seek.value); sync(); });
playerRoot.querySelector("[data-replay-start]")?.addEventListener("click", () => { video.play().catch(() => {}); });

loadChat().catch((error) => {
  const state = document.querySelector("[data-replay-chat-state]");
  if (state) state.textContent = "chat unavailable";
  console.error("chat replay failed", error);
});
