// The control room: OBS credentials (masked, reveal, copy), preview player, health and viewer
// graphs fed by `stream:quality-update` / `stream:viewer-count`, status and chat moderation.
import { Realtime } from "../realtime.js";
import { api, copyText, readConfig, toast } from "../util.js";
import { createChat } from "../livestreams/chat.js";
import { createPlayer } from "../livestreams/player.js";
import { LineGraph } from "./graph.js";

const config = readConfig("room-config");
const realtime = new Realtime(config.streamId);
window.__realtime = realtime;

// --- credentials: masked by default once JavaScript runs (visible without it) ---------------
const MASK = "••••••••••••••••••••••";
for (const input of document.querySelectorAll("input[data-secret]")) {
  input.type = "password";
  const reveal = document.querySelector(`[data-reveal="#${input.id}"]`);
  if (reveal) {
    reveal.hidden = false;
    reveal.addEventListener("click", () => {
      const show = input.type === "password";
      input.type = show ? "text" : "password";
      reveal.textContent = show ? "Hide" : "Reveal";
      reveal.setAttribute("aria-pressed", String(show));
    });
  }
}
const commandCode = document.querySelector("[data-secret-text]");
const commandFull = commandCode ? commandCode.textContent : "";
const secretUrl = document.querySelector("[data-copy-command]")?.dataset.copyText || "";
if (commandCode && secretUrl) {
  const key = secretUrl.split("?key=")[1] || "";
  if (key) commandCode.textContent = commandFull.replace(key, MASK);
}
document.addEventListener("click", async (event) => {
  const copy = event.target.closest("[data-copy]");
  if (copy) {
    const source = document.querySelector(copy.dataset.copy);
    await copyText(source.value);
    copy.textContent = "Copied ✓";
    setTimeout(() => { copy.textContent = "Copy"; }, 1500);
    toast(source.dataset.secret !== undefined ? "Stream key copied – keep it secret" : "Copied");
  }
  if (event.target.closest("[data-copy-command]")) {
    await copyText(commandFull);
    toast("ffmpeg command copied (it contains your key)");
  }
});

// --- status ------------------------------------------------------------------------------
const statusEl = document.querySelector("[data-status]");
const durationWrap = document.querySelector("[data-duration-wrap]");
const elapsed = document.querySelector("time[data-elapsed]");
function setStatus(text, status) {
  statusEl.textContent = text;
  statusEl.className = `status-pill status-${status}`;
}

// --- graphs ------------------------------------------------------------------------------
const graphs = {
  bitrate: new LineGraph(document.querySelector('[data-graph="bitrate"]'), { color: "#ff3b6b" }),
  fps: new LineGraph(document.querySelector('[data-graph="fps"]'), { color: "#2fd08a" }),
  viewers: new LineGraph(document.querySelector('[data-graph="viewers"]'), { color: "#7aa7ff" }),
};
window.__graphs = graphs;
const healthEl = document.querySelector("[data-health]");
const reasonEl = document.querySelector("[data-health-reason]");
const statLine = document.querySelector("[data-stat-line]");
const stat = (name) => document.querySelector(`[data-stat="${name}"]`);
const viewerEls = document.querySelectorAll("[data-viewer-count]");
const HEALTH = { good: "Good", degraded: "Degraded", bad: "Bad", unknown: "Unknown" };

function showSample(sample, time) {
  if (!sample) return;
  const t = time ? Date.parse(time) : Date.now();
  if (typeof sample.bitrate_kbps === "number") { graphs.bitrate.push(sample.bitrate_kbps, t); stat("bitrate").textContent = Math.round(sample.bitrate_kbps).toLocaleString(); }
  if (typeof sample.fps === "number") { graphs.fps.push(sample.fps, t); stat("fps").textContent = sample.fps.toFixed(sample.fps % 1 ? 1 : 0); }
  const bits = [];
  if (sample.width && sample.height) bits.push(`${sample.width}×${sample.height}`);
  if (sample.video_codec) bits.push(sample.video_codec);
  if (sample.audio_codec) bits.push(sample.audio_codec);
  if (typeof sample.source_fps === "number" && typeof sample.fps === "number" && Math.abs(sample.source_fps - sample.fps) > 1) bits.push(`encoder sends ${sample.source_fps} fps`);
  if (typeof sample.uptime_seconds === "number") bits.push(`connected ${Math.floor(sample.uptime_seconds / 60)} min`);
  if (statLine && bits.length) statLine.textContent = bits.join(" · ");
}

function showHealth(health, reason) {
  if (!healthEl) return;
  healthEl.textContent = HEALTH[health] || health || "Unknown";
  healthEl.className = `health-pill health-${health || "unknown"}`;
  if (reasonEl) reasonEl.textContent = reason || (health === "good" ? "Everything looks fine." : "");
}

let viewers = 0;
let peak = 0;
const peakEl = document.querySelector("[data-peak]");
function showViewers(count) {
  viewers = Number(count);
  peak = Math.max(peak, viewers);
  for (const el of viewerEls) el.textContent = viewers.toLocaleString();
  if (peakEl && peak > Number(peakEl.dataset.peak || 0)) peakEl.textContent = peak.toLocaleString();
  graphs.viewers.push(viewers);
}
// The count only arrives when it changes: extend the curve, and let time scroll the graphs.
setInterval(() => {
  graphs.viewers.push(viewers);
  graphs.bitrate.draw();
  graphs.fps.draw();
}, 5000);

async function loadHealthHistory() {
  try {
    const data = await api(`/api/v1/livestreams/${config.streamId}/health/?limit=300`);
    (data.samples || []).slice().sort((a, b) => Date.parse(a.taken_at) - Date.parse(b.taken_at))
      .forEach((s) => showSample(s, s.taken_at));
    if (data.health) showHealth(data.health, data.reason ?? data.health_reason);
  } catch { /* not available yet: the live events fill the graphs */ }
}

function start() {
  const root = document.querySelector("[data-player]");
  const player = createPlayer(root, { preview: true });
  window.__player = player;
  const chatRoot = document.querySelector("[data-chat]");
  const chat = chatRoot ? createChat(chatRoot, { realtime, config }) : null;
  if (config.status === "live") {
    player.start(config.hlsUrl);
    if (config.interrupted) player.interrupted();
  }
  showViewers(config.viewerCount || 0);

  realtime
    .on("stream:start", (event) => {
      setStatus("Live", "live");
      if (durationWrap && elapsed && event.started_at) {
        elapsed.setAttribute("datetime", event.started_at);
        durationWrap.hidden = false;
        const label = durationWrap.querySelector("[data-duration-label]");
        if (label) label.textContent = "live for";
      }
      player.start(event.hls_url || config.hlsUrl);
      document.querySelectorAll("[data-prestart]").forEach((form) => form.remove());
      const endForm = document.querySelector("[data-end-form]");
      if (endForm) endForm.hidden = false;
      toast("You are live!");
    })
    .on("stream:interrupted", () => { setStatus("Live · reconnecting", "preparing"); player.interrupted(); showHealth("bad", "Your encoder disconnected. Reconnect it to carry on the same stream."); })
    .on("stream:resumed", (event) => { setStatus("Live", "live"); player.resumed(event.hls_url); })
    .on("stream:end", (event) => {
      setStatus("Ended", "ended");
      if (elapsed && event.ended_at) elapsed.dataset.until = event.ended_at;
      const label = durationWrap && durationWrap.querySelector("[data-duration-label]");
      if (label) label.textContent = "ran for";
      player.ended("Your stream has ended.");
      document.querySelector("[data-end-form]")?.remove();
    })
    .on("stream:status", (event) => setStatus(event.status[0].toUpperCase() + event.status.slice(1), event.status))
    .on("stream:settings", (event) => {
      // Another tab or a moderator changed them: keep the form truthful.
      if (event.hls_url && player.url && event.hls_url !== player.url) player.start(event.hls_url); // a ladder came or went
      const form = document.querySelector("input[name=action][value=settings]")?.form;
      if (!form || !("chat_enabled" in event)) return;
      form.elements.chat_enabled.checked = !!event.chat_enabled;
      form.elements.reactions_enabled.checked = !!event.reactions_enabled;
      if (event.chat_mode) form.elements.chat_mode.value = event.chat_mode;
    })
    .on("stream:quality-update", (event) => { showHealth(event.health, event.reason); showSample(event.sample); }) // now: the browser clock, like the graph
    .on("hello", (event) => { if (typeof event.viewer_count === "number") showViewers(event.viewer_count); })
    .on("stream:viewer-count", (event) => showViewers(event.count));

  loadHealthHistory();
  const ready = chat ? chat.loadHistory() : Promise.resolve();
  ready.finally(() => realtime.connect());
}

if (window.Hls || document.readyState === "complete") start();
else window.addEventListener("load", start, { once: true });
