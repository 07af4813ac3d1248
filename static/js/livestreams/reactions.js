// Reactions bar (buttons from hello.reactions) and floating emoji from `stream:reaction` bursts.
// The floating layer sits at the side of the video with pointer-events: none: it never blocks it.
import { api, toast } from "../util.js";

const MAX_FLOATS_PER_BURST = 12;
const MAX_ON_SCREEN = 40;

export function createReactions({ bar, layer, realtime, config }) {
  let enabled = config.reactionsEnabled !== false;
  let emojis = [];

  function float(emoji) {
    if (!layer || layer.childElementCount >= MAX_ON_SCREEN) return;
    const span = document.createElement("span");
    span.className = "float-emoji";
    span.textContent = emoji;
    span.dataset.emoji = emoji;
    span.style.left = `${10 + Math.random() * 60}%`;
    span.style.setProperty("--drift", `${Math.round((Math.random() - 0.5) * 60)}px`);
    span.style.animationDelay = `${Math.random() * 0.4}s`;
    span.addEventListener("animationend", () => span.remove());
    layer.append(span);
  }

  function renderBar() {
    if (!bar) return;
    bar.replaceChildren();
    bar.hidden = !(enabled && emojis.length);
    for (const emoji of emojis) {
      const button = document.createElement("button");
      button.type = "button";
      button.textContent = emoji;
      button.dataset.emoji = emoji;
      button.setAttribute("aria-label", `React with ${emoji}`);
      button.addEventListener("click", () => react(emoji));
      bar.append(button);
    }
  }

  async function react(emoji) {
    if (!config.authenticated) {
      toast("Log in to react");
      return;
    }
    if (!realtime.send({ type: "reaction.send", emoji })) {
      try { await api(`/api/v1/livestreams/${config.streamId}/reactions/`, { method: "POST", body: { emoji } }); }
      catch (error) { toast(error.message); }
    }
  }

  realtime
    .on("hello", (event) => {
      emojis = Array.isArray(event.reactions) ? event.reactions : [];
      if (typeof event.reactions_enabled === "boolean") enabled = event.reactions_enabled;
      renderBar();
    })
    .on("stream:settings", (event) => {
      if (!("reactions_enabled" in event)) return;
      enabled = event.reactions_enabled !== false;
      renderBar();
    })
    .on("stream:reaction", (event) => {
      const counts = event.counts || {};
      const total = Object.values(counts).reduce((a, b) => a + b, 0) || 1;
      for (const [emoji, n] of Object.entries(counts)) {
        // Scale big bursts down: the crowd's mood, not every tap.
        const shown = Math.max(1, Math.round((n / total) * Math.min(total, MAX_FLOATS_PER_BURST)));
        for (let i = 0; i < shown; i += 1) float(emoji);
      }
    });

  return { float, react };
}
