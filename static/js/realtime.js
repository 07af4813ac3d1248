// One WebSocket per page: ws(s)://<host>/ws/livestreams/<id>/ (wire protocol: docs/realtime.md).
// Unpacks "batch" frames, dispatches each event on its `type` to the handlers registered with
// on(), keeps chat events gap-free with `seq` (+ chat.sync), reconnects with backoff, pings.

const CHAT_TYPES = new Set(["stream:chat-message", "stream:chat-deleted", "stream:chat-pinned", "stream:chat-cleared"]);
const PING_MS = 25000;

// One id per browser, so an anonymous fan with two tabs counts as one viewer.
function browserId() {
  try {
    let id = localStorage.getItem("backline.vid");
    if (!id || !/^[A-Za-z0-9]{16,40}$/.test(id)) {
      const bytes = crypto.getRandomValues(new Uint8Array(12));
      id = Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
      localStorage.setItem("backline.vid", id);
    }
    return id;
  } catch (error) {
    return ""; // storage blocked: the server falls back to one id per connection
  }
}

export class Realtime {
  constructor(streamId) {
    this.streamId = streamId;
    this.handlers = new Map();
    this.lastSeq = null; // last chat seq applied; null until the first hello
    this.attempt = 0;
    this.socket = null;
    this.closedByUs = false;
    this.syncing = false;
    this.state = "connecting";
  }

  on(type, handler) {
    if (!this.handlers.has(type)) this.handlers.set(type, []);
    this.handlers.get(type).push(handler);
    return this;
  }

  emit(type, event) {
    for (const handler of this.handlers.get(type) || []) {
      try { handler(event); } catch (error) { console.error(`handler for ${type} failed`, error); }
    }
    for (const handler of this.handlers.get("*") || []) handler(event);
  }

  setState(state, detail) {
    this.state = state;
    this.emit("socket:state", { type: "socket:state", state, detail });
  }

  url() {
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    return `${scheme}://${location.host}/ws/livestreams/${this.streamId}/?vid=${browserId()}`;
  }

  connect() {
    this.closedByUs = false;
    this.setState(this.attempt ? "reconnecting" : "connecting");
    let socket;
    try { socket = new WebSocket(this.url()); } catch (error) { this.scheduleReconnect(); return this; }
    this.socket = socket;
    socket.addEventListener("open", () => {
      this.attempt = 0;
      this.setState("open");
      clearInterval(this.pinger);
      this.pinger = setInterval(() => this.send({ type: "ping" }), PING_MS);
    });
    socket.addEventListener("message", (message) => this.receive(message.data));
    socket.addEventListener("close", (close) => {
      clearInterval(this.pinger);
      if (this.socket !== socket) return;
      this.socket = null;
      if (close.code === 4404) { this.setState("gone", "This stream no longer exists."); return; }
      if (this.closedByUs) { this.setState("closed"); return; }
      // 4429: we flooded. Wait longer before coming back.
      this.scheduleReconnect(close.code === 4429 ? 5000 : 0);
    });
    return this;
  }

  scheduleReconnect(minimum = 0) {
    this.attempt += 1;
    const delay = Math.max(minimum, Math.min(15000, 500 * 2 ** (this.attempt - 1))) * (0.75 + Math.random() * 0.5);
    this.setState("reconnecting", Math.round(delay / 1000));
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => this.connect(), delay);
  }

  close() {
    this.closedByUs = true;
    clearTimeout(this.retryTimer);
    clearInterval(this.pinger);
    if (this.socket) this.socket.close(1000);
  }

  send(frame) {
    if (!this.socket || this.socket.readyState !== WebSocket.OPEN) return false;
    this.socket.send(JSON.stringify(frame));
    return true;
  }

  receive(text) {
    let data;
    try { data = JSON.parse(text); } catch { return; }
    const events = data && data.type === "batch" ? data.events || [] : [data];
    for (const event of events) this.dispatch(event);
  }

  dispatch(event) {
    if (!event || typeof event.type !== "string") return;
    if (event.type === "hello") {
      // lastSeq is null only before any history: start from the server's. Otherwise (history
      // loaded over REST, or a reconnect) fetch whatever happened since.
      const serverSeq = Number(event.last_seq || 0);
      this.hellos = (this.hellos || 0) + 1;
      this.emit("hello", { ...event, reconnect: this.hellos > 1 });
      if (this.lastSeq === null) this.lastSeq = serverSeq;
      else if (serverSeq > this.lastSeq) this.requestSync();
      return;
    }
    if (event.type === "chat:sync") {
      this.syncing = false;
      for (const inner of event.events || []) this.dispatch(inner);
      if (event.more) this.requestSync();
      return;
    }
    if (CHAT_TYPES.has(event.type) && typeof event.seq === "number" && this.lastSeq !== null) {
      if (event.seq <= this.lastSeq) return; // already applied
      if (event.seq > this.lastSeq + 1) { this.requestSync(); return; } // a gap: the sync brings it in order
      this.lastSeq = event.seq;
    }
    this.emit(event.type, event);
  }

  /** Chat history was loaded from REST: continue from its last_seq. */
  adoptSeq(seq) {
    if (typeof seq === "number" && (this.lastSeq === null || seq > this.lastSeq)) this.lastSeq = seq;
  }

  requestSync() {
    if (this.syncing) return;
    this.syncing = this.send({ type: "chat.sync", after_seq: this.lastSeq || 0 });
    // If the answer never comes (socket dropped), the next hello will ask again.
    setTimeout(() => { this.syncing = false; }, 3000);
  }
}
