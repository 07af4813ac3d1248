// The control room's relay panel (templates/studio/_relays.html): each relay's state, restarts and
// FFmpeg progress, first from GET /api/v1/livestreams/<id>/relays/, then from the page's socket
// ("stream:relay-update", owner/staff only). Also the simulcast picker, over
// /api/v1/livestreams/<id>/destinations/. Everything here is contained: a failing relay or a
// failed request shows in this panel and never throws into the rest of the page.
import { api, toast } from "../util.js";

const root = document.querySelector("[data-relays]");
const KIND_LABELS = { record: "Recording", thumbnail: "Thumbnails", transcode: "Quality ladder", restream: "Simulcast" };
const STATE_LABELS = { starting: "starting", running: "running", backing_off: "backing off", failed: "failed", stopped: "stopped" };
// A simulcast is what the artist cares about: "is it live on YouTube?"
const RESTREAM_LABELS = { starting: "connecting", backing_off: "connecting", running: "live", failed: "failed", stopped: "stopped" };

const relays = new Map(); // relay id -> latest relay data

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function title(relay) {
  if (relay.kind !== "restream") return KIND_LABELS[relay.kind] || relay.kind;
  return relay.destination_name ? `Simulcast: ${relay.destination_name}` : "Simulcast (deleted destination)";
}

function progressText(progress) {
  if (!progress || typeof progress !== "object") return "";
  const bits = [];
  if (typeof progress.fps === "number") bits.push(`${progress.fps.toFixed(0)} fps`);
  if (typeof progress.bitrate_kbps === "number") bits.push(`${Math.round(progress.bitrate_kbps)} kbps`);
  if (typeof progress.speed === "number") bits.push(`${progress.speed.toFixed(2)}×`);
  if (typeof progress.frame === "number") bits.push(`${progress.frame.toLocaleString()} frames`);
  return bits.join(" · ");
}

function row(relay) {
  const li = el("li", `relay-row relay-${relay.kind}`);
  li.dataset.relayId = relay.id;
  li.dataset.state = relay.state;
  const labels = relay.kind === "restream" ? RESTREAM_LABELS : STATE_LABELS;
  li.append(el("span", `relay-badge relay-state-${relay.state}`, labels[relay.state] || relay.state));
  li.append(el("strong", "relay-name", title(relay)));
  const detail = el("span", "muted relay-progress", relay.state === "running" ? progressText(relay.progress) : "");
  li.append(detail);
  if (relay.restarts) li.append(el("span", "muted relay-restarts", `${relay.restarts} restart${relay.restarts === 1 ? "" : "s"}`));
  if (relay.state === "failed" || relay.state === "backing_off") {
    const reason = relay.failure_reason || (relay.state === "failed" ? "Stopped after repeated errors." : "Retrying…");
    li.append(el("small", "relay-reason", reason));
  }
  return li;
}

function render() {
  const list = root.querySelector("[data-relay-list]");
  const empty = root.querySelector("[data-relay-empty]");
  const order = ["transcode", "record", "thumbnail", "restream"];
  const sorted = [...relays.values()].sort((a, b) =>
    order.indexOf(a.kind) - order.indexOf(b.kind) || title(a).localeCompare(title(b)));
  list.replaceChildren(...sorted.map(row));
  if (empty) empty.hidden = sorted.length > 0;
}

function upsert(relay) {
  if (!relay || relay.id === undefined) return;
  relays.set(String(relay.id), { ...(relays.get(String(relay.id)) || {}), ...relay });
  render();
}

async function loadRelays(streamId) {
  try {
    const data = await api(`/api/v1/livestreams/${streamId}/relays/`);
    for (const relay of data.relays || []) {
      // Socket updates that arrived before this answer are newer: keep them.
      if (!relays.has(String(relay.id))) relays.set(String(relay.id), relay);
    }
    render();
  } catch { /* the socket's updates still fill the list */ }
}

async function loadDestinations(streamId) {
  const form = root.querySelector("[data-destinations-form]");
  const box = form && form.querySelector("[data-destination-choices]");
  if (!box) return;
  let data;
  try { data = await api(`/api/v1/livestreams/${streamId}/destinations/`); } catch { return; } // the link stays
  const chosen = new Set(data.destination_ids || []);
  const destinations = data.destinations || [];
  if (!destinations.length) return; // the link leads to the page that says how to add one
  box.replaceChildren(...destinations.map((d) => {
    const label = el("label", "check");
    const input = el("input");
    input.type = "checkbox";
    input.name = "destinations";
    input.value = d.id;
    input.checked = chosen.has(d.id);
    label.append(input, ` ${d.name}${d.enabled ? "" : " (disabled)"}`);
    return label;
  }));
  form.hidden = false;
  root.querySelector("[data-destinations-link]")?.setAttribute("hidden", "");
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const ids = [...form.querySelectorAll("input[name=destinations]:checked")].map((i) => Number(i.value));
    const note = form.querySelector("[data-destinations-note]");
    try {
      await api(`/api/v1/livestreams/${streamId}/destinations/`, { method: "PUT", body: { destination_ids: ids } });
      if (note) note.textContent = "";
      toast(ids.length ? "Simulcast saved." : "Simulcast off.");
    } catch (error) {
      if (note) note.textContent = error.message;
    }
  });
}

function start() {
  const streamId = root.dataset.streamId;
  // control_room.js owns the page's one socket and exposes it; module scripts run in order.
  const realtime = window.__realtime;
  if (realtime) realtime.on("stream:relay-update", (event) => upsert(event.relay));
  loadRelays(streamId);
  loadDestinations(streamId);
}

if (root) {
  try { start(); } catch (error) { console.error("relay panel failed", error); }
}
