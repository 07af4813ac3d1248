// The chat panel: history (REST), live messages and moderation (socket events), the send box.
// Every piece of user text goes in with textContent; links are built as <a> elements, http(s) only.
import { api, toast } from "../util.js";

const MAX_SHOWN = 300;
const URL_RE = /\bhttps?:\/\/[^\s<>"']+/gi;
const ERRORS = {
  auth_required: "Log in to chat.",
  chat_off: "Chat is off right now.",
  chat_disabled: "Chat is off for this stream.",
  followers_only: "Only followers can chat right now. Follow the artist to join in.",
  banned: "You can't chat in this artist's streams.",
  not_live: "Chat opens when the stream is on.",
  reactions_disabled: "Reactions are off.",
};


/** Append `text` to `parent`, turning http(s) URLs into safe links. */
export function appendLinkified(parent, text) {
  let last = 0;
  for (const match of text.matchAll(URL_RE)) {
    let href = match[0].replace(/[).,!?;:]+$/, "");
    parent.append(document.createTextNode(text.slice(last, match.index)));
    let url = null;
    try { url = new URL(href); } catch { url = null; }
    if (url && (url.protocol === "http:" || url.protocol === "https:")) {
      const a = document.createElement("a");
      a.href = url.href;
      a.textContent = href;
      a.rel = "nofollow noopener ugc";
      a.target = "_blank";
      parent.append(a);
    } else {
      parent.append(document.createTextNode(href));
    }
    last = match.index + href.length;
  }
  parent.append(document.createTextNode(text.slice(last)));
}

function hueOf(name) {
  let h = 0;
  for (const c of name) h = (h * 31 + c.codePointAt(0)) % 360;
  return h;
}

/** One chat message as a log line: the author (coloured, the artist marked) and the linkified text.
 * Shared by the live chat and the chat replay. */
export function messageElement(message, config) {
  const li = document.createElement("li");
  li.className = "chat-msg";
  li.dataset.messageId = message.id;
  const user = message.user || {};
  const who = document.createElement("span");
  who.className = "who";
  who.style.setProperty("--hue", hueOf(user.username || "?"));
  who.textContent = user.display_name || user.username || "someone";
  who.title = `@${user.username || ""}`;
  if (user.username && user.username === config.artistUsername) who.classList.add("is-artist");
  const body = document.createElement("span");
  body.className = "text";
  appendLinkified(body, message.text || "");
  li.append(who, body);
  return li;
}

export function createChat(root, { realtime, config }) {
  const base = `/api/v1/livestreams/${config.streamId}`;
  const log = root.querySelector("[data-chat-log]");
  const empty = root.querySelector("[data-chat-empty]");
  const pinned = root.querySelector("[data-pinned]");
  const pinnedBody = root.querySelector("[data-pinned-body]");
  const unpinBtn = root.querySelector("[data-unpin]");
  const form = root.querySelector("[data-chat-form]");
  const input = root.querySelector("[data-chat-input]");
  const count = root.querySelector("[data-chat-count]");
  const rule = root.querySelector("[data-chat-rule]");
  const note = root.querySelector("[data-chat-note]");
  const conn = root.querySelector("[data-conn]");
  const jump = root.querySelector("[data-chat-jump]");
  const max = config.chatMaxLength || 500;

  let canModerate = false;
  let canChat = false;
  let pinnedId = null;
  let slowMode = 0;
  let chatMode = config.chatMode || "open";
  let chatEnabled = config.chatEnabled !== false;
  const byId = new Map();

  function nearBottom() { return log.scrollHeight - log.scrollTop - log.clientHeight < 60; }
  function scrollDown() { log.scrollTop = log.scrollHeight; if (jump) jump.hidden = true; }

  function showNote(text) {
    if (!note) { toast(text); return; }
    note.textContent = text;
    note.hidden = !text;
    clearTimeout(showNote.timer);
    if (text) showNote.timer = setTimeout(() => { note.hidden = true; }, 6000);
  }

  function system(text) {
    const li = document.createElement("li");
    li.className = "chat-system";
    li.textContent = text;
    log.append(li);
  }

  function render(message) {
    const li = messageElement(message, config);
    if (message.user && message.user.username && message.user.username === config.username) li.classList.add("mine");
    if (canModerate) li.append(modButton(message));
    return li;
  }

  function add(message, { live = true } = {}) {
    if (!message || byId.has(String(message.id))) return;
    if (empty) empty.remove();
    const stick = nearBottom();
    const li = render(message);
    byId.set(String(message.id), li);
    log.append(li);
    while (byId.size > MAX_SHOWN) {
      const [firstId, firstLi] = byId.entries().next().value;
      firstLi.remove();
      byId.delete(firstId);
    }
    if (stick || !live) scrollDown();
    else if (jump) jump.hidden = false;
    if (message.pinned) setPinned(message);
  }

  function remove(messageId) {
    const li = byId.get(String(messageId));
    if (li) { li.remove(); byId.delete(String(messageId)); }
    if (String(pinnedId) === String(messageId)) setPinned(null);
  }

  function setPinned(message) {
    pinnedId = message ? message.id : null;
    if (!pinned) return;
    pinnedBody.replaceChildren();
    if (message) {
      const who = document.createElement("strong");
      who.textContent = `${(message.user && (message.user.display_name || message.user.username)) || ""}: `;
      pinnedBody.append(who);
      appendLinkified(pinnedBody, message.text || "");
    }
    pinned.hidden = !message;
    if (unpinBtn) unpinBtn.hidden = !(message && canModerate);
  }

  // --- moderation ------------------------------------------------------------------------
  let openMenu = null;
  function closeMenu() {
    if (openMenu) { openMenu.menu.remove(); openMenu.button.setAttribute("aria-expanded", "false"); openMenu = null; }
  }

  function modButton(message) {
    const button = document.createElement("button");
    button.type = "button";
    button.className = "mod-btn";
    button.textContent = "⋯";
    button.setAttribute("aria-label", `Moderate message from ${(message.user && message.user.username) || "someone"}`);
    button.setAttribute("aria-haspopup", "menu");
    button.setAttribute("aria-expanded", "false");
    button.addEventListener("click", (event) => {
      event.stopPropagation();
      const wasOpen = openMenu && openMenu.button === button;
      closeMenu();
      if (wasOpen) return;
      const menu = document.createElement("div");
      menu.className = "mod-menu";
      menu.setAttribute("role", "menu");
      const username = message.user && message.user.username;
      const items = [
        [String(pinnedId) === String(message.id) ? "Unpin" : "Pin to top", () =>
          String(pinnedId) === String(message.id) ? api(`${base}/chat/${message.id}/unpin/`, { method: "POST" })
            : api(`${base}/chat/${message.id}/pin/`, { method: "POST" })],
        ["Delete message", () => api(`${base}/chat/${message.id}/`, { method: "DELETE" }), "danger"],
      ];
      if (username && username !== config.artistUsername) {
        items.push([`Time out ${username} (10 min)`, () => api(`${base}/moderation/timeout/`, { method: "POST", body: { username, minutes: 10 } })
          .then(() => toast(`${username} is timed out for 10 minutes`))]);
        items.push([`Ban ${username}`, () => api(`${base}/moderation/ban/`, { method: "POST", body: { username } })
          .then(() => toast(`${username} is banned from your chats`)), "danger"]);
      }
      for (const [label, action, cls] of items) {
        const item = document.createElement("button");
        item.type = "button";
        item.setAttribute("role", "menuitem");
        item.textContent = label;
        if (cls) item.className = cls;
        item.addEventListener("click", async () => {
          closeMenu();
          try { await action(); } catch (error) { toast(error.message); }
        });
        menu.append(item);
      }
      menu.addEventListener("keydown", (e) => {
        const buttons = [...menu.querySelectorAll("button")];
        const i = buttons.indexOf(document.activeElement);
        if (e.key === "Escape") { closeMenu(); button.focus(); }
        else if (e.key === "ArrowDown") { e.preventDefault(); buttons[(i + 1) % buttons.length].focus(); }
        else if (e.key === "ArrowUp") { e.preventDefault(); buttons[(i - 1 + buttons.length) % buttons.length].focus(); }
      });
      button.after(menu);
      button.setAttribute("aria-expanded", "true");
      openMenu = { menu, button };
      menu.querySelector("button").focus();
    });
    return button;
  }
  document.addEventListener("click", (event) => { if (openMenu && !openMenu.menu.contains(event.target)) closeMenu(); });
  unpinBtn && unpinBtn.addEventListener("click", () => {
    if (pinnedId !== null) api(`${base}/chat/${pinnedId}/unpin/`, { method: "POST" }).catch((e) => toast(e.message));
  });

  function addModTools() {
    const head = root.querySelector(".chat-head");
    if (!head || head.querySelector("[data-mod-tools]")) return;
    const tools = document.createElement("div");
    tools.dataset.modTools = "";
    tools.className = "mod-tools";
    const slow = document.createElement("select");
    slow.setAttribute("aria-label", "Slow mode");
    for (const [value, label] of [["0", "Slow mode off"], ["5", "Slow: 5 s"], ["30", "Slow: 30 s"], ["120", "Slow: 2 min"]]) {
      slow.add(new Option(label, value, false, Number(value) === slowMode));
    }
    slow.addEventListener("change", () => api(`${base}/moderation/slow-mode/`, { method: "POST", body: { seconds: Number(slow.value) } })
      .catch((e) => toast(e.message)));
    const clear = Object.assign(document.createElement("button"), { type: "button", className: "btn ghost xs", textContent: "Clear chat" });
    clear.addEventListener("click", () => {
      if (window.confirm("Clear the chat for everyone?")) api(`${base}/moderation/clear/`, { method: "POST" }).catch((e) => toast(e.message));
    });
    tools.append(slow, clear);
    head.insertBefore(tools, head.querySelector("[data-conn]"));
  }

  // --- settings and limits ----------------------------------------------------------------
  function applySettings() {
    if (!form) return;
    const open = chatEnabled && chatMode !== "off";
    form.hidden = !open;
    if (!open) showNote("Chat is off right now.");
    else if (helloSeen && !canChat && chatMode === "followers") showNote(ERRORS.followers_only);
    const parts = [];
    if (chatMode === "followers") parts.push("Followers only");
    if (slowMode > 0) parts.push(`Slow mode: one message every ${slowMode} s`);
    if (rule) rule.textContent = parts.length ? parts.join(" · ") : "Be kind";
  }
  let helloSeen = false;

  function updateCount() {
    if (!input || !count) return;
    const n = input.value.trim().length;
    count.textContent = String(n);
    count.classList.toggle("over", n > max);
  }

  async function send() {
    const text = input.value.trim();
    if (!text) return;
    if (text.length > max) { showNote(`Messages can be up to ${max} characters.`); return; }
    input.value = "";
    input.style.height = "";
    updateCount();
    if (!realtime.send({ type: "chat.send", text })) {
      try { await api(`${base}/chat/`, { method: "POST", body: { text } }); } catch (error) { input.value = text; showNote(error.message); }
    }
  }

  if (form) {
    form.addEventListener("submit", (event) => { event.preventDefault(); send(); });
    input.addEventListener("input", () => {
      updateCount();
      input.style.height = "auto";
      input.style.height = `${Math.min(input.scrollHeight, 96)}px`;
    });
    input.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && !event.shiftKey && !event.isComposing) { event.preventDefault(); send(); }
    });
  }
  if (jump) jump.addEventListener("click", scrollDown);
  log.addEventListener("scroll", () => { if (jump && nearBottom()) jump.hidden = true; });

  // --- socket events ----------------------------------------------------------------------
  realtime
    .on("socket:state", ({ state, detail }) => {
      if (!conn) return;
      conn.dataset.state = state;
      conn.textContent = state === "open" ? "live" : state === "reconnecting" ? `reconnecting${detail ? ` in ${detail}s` : "…"}`
        : state === "gone" ? "unavailable" : state;
    })
    .on("hello", (event) => {
      helloSeen = true;
      canChat = !!event.can_chat;
      canModerate = !!event.can_moderate;
      slowMode = event.slow_mode_seconds || 0;
      chatMode = event.chat_mode || chatMode;
      if (typeof event.chat_enabled === "boolean") chatEnabled = event.chat_enabled;
      if (event.pinned !== undefined) setPinned(event.pinned);
      if (canModerate) {
        addModTools();
        for (const [id, li] of byId) if (!li.querySelector(".mod-btn")) li.append(modButton({ id, user: { username: li.querySelector(".who").title.slice(1) } }));
      }
      applySettings();
    })
    .on("stream:chat-message", (event) => add(event.message))
    .on("stream:chat-deleted", (event) => remove(event.message_id))
    .on("stream:chat-pinned", (event) => setPinned(event.message))
    .on("stream:chat-cleared", () => {
      for (const li of byId.values()) li.remove();
      byId.clear();
      setPinned(null);
      system("The chat was cleared by a moderator.");
    })
    .on("stream:settings", (event) => {
      if (!("chat_enabled" in event)) return; // not about chat (a playback change)
      chatEnabled = event.chat_enabled !== false;
      chatMode = event.chat_mode || chatMode;
      slowMode = event.slow_mode_seconds || 0;
      applySettings();
    })
    .on("error", (event) => {
      let text = ERRORS[event.code] || event.message || "Something went wrong.";
      if ((event.code === "slow_mode" || event.code === "rate_limited") && event.retry_after) text = `Slow down: try again in ${Math.ceil(event.retry_after)} s.`;
      if (event.code === "timed_out") text = event.message || "You are timed out.";
      showNote(text);
    });

  // Older pages, on demand: a button at the top of the log (cursor: ?before=<id>).
  let olderButton = null;
  function offerOlder(before) {
    if (!before) { olderButton?.remove(); olderButton = null; return; }
    if (!olderButton) {
      olderButton = Object.assign(document.createElement("button"), { type: "button", className: "btn ghost xs chat-older", textContent: "Load earlier messages" });
      olderButton.addEventListener("click", async () => {
        olderButton.disabled = true;
        try {
          const data = await api(`${base}/chat/?before=${encodeURIComponent(olderButton.dataset.before)}`);
          const height = log.scrollHeight;
          const first = log.querySelector(".chat-msg");
          for (const message of data.results || []) {
            if (byId.has(String(message.id))) continue;
            const li = render(message);
            byId.set(String(message.id), li);
            log.insertBefore(li, first);
          }
          log.scrollTop += log.scrollHeight - height; // keep what the reader was looking at in place
          offerOlder(data.next_before);
        } catch (error) { toast(error.message); }
        if (olderButton) olderButton.disabled = false;
      });
      log.before(olderButton);
    }
    olderButton.dataset.before = before;
  }

  async function loadHistory() {
    try {
      const data = await api(`${base}/chat/`);
      for (const message of data.results || []) add(message, { live: false });
      realtime.adoptSeq(data.last_seq);
      offerOlder(data.next_before);
    } catch (error) {
      // No history (chat not available): the live socket still works.
    }
  }

  updateCount();
  return { loadHistory, add, setPinned };
}
