"""The one door to the channel layer: every realtime event leaves through publish_on_commit()
(or publish() for facts that are not database writes: reaction bursts, viewer counts).

Only services call it, so one grep finds every realtime side effect. Events are sent after the
current transaction commits: a rolled-back change is never broadcast. Imports no other module of ours.

Fan-out (docs/benchmarks.md, "Realtime fan-out"): a Daphne process does not give each socket its
own channel-layer subscription. It keeps one StreamHub per stream with local sockets; the hub alone
joins the stream's groups, buffers what arrives and, every REALTIME_FRAME_MS, serializes the buffer
once and writes the same text to every local socket. Per-message, per-viewer Python work becomes
per-frame, per-viewer work of one `send` call, and the channel layer carries one copy per process.
"""

import asyncio
import functools
import json
import logging
import time
import uuid
from collections.abc import Awaitable, Callable

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings
from django.db import transaction

logger = logging.getLogger(__name__)

PUBLIC = "public"
STAFF = "staff"  # the stream's owner, its moderators and site staff
EVENT = "stream.event"  # channel-layer message type carrying one browser-facing event


def stream_group(stream_id, audience: str = PUBLIC) -> str:
    # Group names: ASCII letters, digits, "-", "_", "." and under 100 characters.
    return f"stream-{stream_id}" if audience == PUBLIC else f"stream-{stream_id}.{audience}"


def publish_on_commit(stream_id, event: dict, *, audience: str = PUBLIC) -> None:
    """Send `event` (a dict whose "type" is the browser-facing name, e.g. "stream:start") to
    every socket watching the stream, after the current transaction commits."""
    event = {**event, "stream_id": str(stream_id)}
    transaction.on_commit(lambda: _deliver(stream_group(stream_id, audience), event))


def publish(stream_id, event: dict, *, audience: str = PUBLIC) -> None:
    """Send at once, from sync code, an event that is not the result of a database write."""
    _deliver(stream_group(stream_id, audience), {**event, "stream_id": str(stream_id)})


async def apublish(stream_id, event: dict, *, audience: str = PUBLIC) -> None:
    """publish() for async callers (the hub's periodic jobs)."""
    await _adeliver(stream_group(stream_id, audience), {**event, "stream_id": str(stream_id)})


def _deliver(group: str, event: dict) -> None:  # the seam that tests patch
    layer = get_channel_layer()
    if layer is None:
        return
    message = {"type": EVENT, "group": group, "event": event}
    loop = _server_loop
    if loop is not None and loop.is_running() and not _in_loop(loop):
        # In a Daphne process, called from a sync thread (a consumer's database_sync_to_async, a
        # view): hand the send to the server's loop and return. async_to_sync would block this
        # thread until the loop gets round to it, and under load (a loop busy writing frames to
        # 5,000 sockets) that wait throttled every chat write in the process.
        future = asyncio.run_coroutine_threadsafe(layer.group_send(group, message), loop)
        future.add_done_callback(_log_failure)
        return
    async_to_sync(layer.group_send)(group, message)


def _in_loop(loop) -> bool:
    try:
        return asyncio.get_running_loop() is loop
    except RuntimeError:
        return False


def _log_failure(future) -> None:
    if not future.cancelled() and future.exception() is not None:
        logger.error("realtime: group_send failed", exc_info=future.exception())


# The event loop serving sockets in this process (set when the first hub starts), if any.
_server_loop: asyncio.AbstractEventLoop | None = None


async def _adeliver(group: str, event: dict) -> None:
    layer = get_channel_layer()
    if layer is not None:
        await layer.group_send(group, {"type": EVENT, "group": group, "event": event})


# --- Per-process fan-out ------------------------------------------------------------------------

# Periodic jobs every hub runs for its stream: (interval in seconds, async fn(hub)). Services
# register theirs at import (presence heartbeat, viewer count, reaction bursts).
_periodic: list[tuple[Callable[[], float], Callable[["StreamHub"], Awaitable[None]]]] = []


def every(seconds: Callable[[], float]):
    """Decorator: run `fn(hub)` about every `seconds()` in every hub of this process (a callable,
    so that settings are read when the hub runs, not at import)."""

    def register(fn):
        _periodic.append((seconds, fn))
        return fn

    return register


def frame_text(events: list[dict]) -> str:
    """One WebSocket text message for a list of events: the event itself or a batch."""
    if len(events) == 1:
        return json.dumps(events[0], ensure_ascii=False, separators=(",", ":"))
    return json.dumps({"type": "batch", "events": events}, ensure_ascii=False, separators=(",", ":"))


def coalesce(events: list[dict]) -> list[dict]:
    """Merge reaction bursts into one and put chat-area events in seq order, in place of each other
    (two processes may publish seq 7 and 8 in either order); everything else keeps its order."""
    reactions = [e for e in events if e.get("type") == "stream:reaction"]
    if len(reactions) > 1:
        counts: dict[str, int] = {}
        for e in reactions:
            for emoji, n in e.get("counts", {}).items():
                counts[emoji] = counts.get(emoji, 0) + n
        merged = {**reactions[-1], "counts": counts}
        events = [e for e in events if e.get("type") != "stream:reaction"] + [merged]
    slots = [i for i, e in enumerate(events) if "seq" in e]
    if len(slots) > 1:
        ordered = sorted((events[i] for i in slots), key=lambda e: e["seq"])
        events = list(events)
        for i, e in zip(slots, ordered, strict=True):
            events[i] = e
    return events


_STATE_EVENTS = {"stream:settings", "stream:start", "stream:status", "stream:end"}
_STATE_FIELDS = ("status", "chat_enabled", "reactions_enabled", "chat_mode", "slow_mode_seconds")


def ws_text_frame(payload: bytes) -> bytes:
    """One unmasked, unfragmented WebSocket text frame (RFC 6455 5.2), as a server sends it."""
    n = len(payload)
    if n < 126:
        header = bytes((0x81, n))
    elif n < 65536:
        header = bytes((0x81, 126)) + n.to_bytes(2, "big")
    else:
        header = bytes((0x81, 127)) + n.to_bytes(8, "big")
    return header + payload


def raw_writer(send) -> Callable[[bytes], bool] | None:
    """Under Daphne on plain TCP: a function writing an already framed WebSocket message to the
    socket, None anywhere else (tests, TLS), where the ASGI `send` is used instead.

    Why: profiling 2,000 viewers showed ~70 % of a Daphne process in the per-socket ASGI send
    path: autobahn framing each copy, then Twisted's asyncio reactor registering and unregistering
    a writer (two epoll_ctl calls) for every message. The hub frames a message once; this writes it
    with one send() when Twisted has nothing queued for the socket, and otherwise appends it to
    Twisted's buffer, so ordering with Daphne's own frames (pings, close) is kept.
    """
    real = getattr(getattr(send, "__self__", None), "real_send", send)  # unwrap SessionMiddleware
    if not isinstance(real, functools.partial) or not real.args:
        return None
    protocol = real.args[0]
    transport = getattr(protocol, "transport", None)
    sock = getattr(transport, "socket", None)
    if sock is None or getattr(transport, "TLS", False) or not hasattr(protocol, "STATE_OPEN"):
        return None

    def write(data: bytes) -> bool:
        if protocol.state != protocol.STATE_OPEN or not transport.connected or transport.disconnecting:
            return False
        if len(transport.dataBuffer) == transport.offset and not transport._tempDataLen:
            try:
                sent = sock.send(data)
            except BlockingIOError:
                sent = 0
            except OSError:
                return False
            if sent == len(data):
                return True
            data = data[sent:]
        transport.write(data)  # the kernel buffer is full: let Twisted queue the rest
        return True

    return write


class StreamHub:
    """Every local socket of one stream in this process, and the one subscription feeding them.

    Sockets are the consumers themselves. The hub writes each frame with `consumer.raw_write(bytes)`
    when the consumer has one (Daphne fast path) and is past its hello, else `consumer.send_frame(text)`.
    """

    def __init__(self, stream_id: str):
        self.stream_id = stream_id
        self.sockets: dict = {}  # consumer -> is_staff
        self.viewer_keys: dict[str, int] = {}  # viewer key -> local sockets
        self.channel: str | None = None
        self._public: list[dict] = []
        self._staff: list[dict] = []
        self._tasks: list[asyncio.Task] = []
        self._jobs: dict = {}
        self.frames_sent = 0
        # The stream's live flags as its own events report them (status, chat/reaction switches):
        # lets hot paths (reactions) decide without a database read. Seeded by the first socket.
        self.state: dict = {}

    async def start(self) -> None:
        layer = get_channel_layer()
        self.channel = await layer.new_channel("hub.")
        await self._subscribe()
        self._tasks = [asyncio.create_task(self._receive_loop()), asyncio.create_task(self._tick_loop())]

    async def _subscribe(self) -> None:
        layer = get_channel_layer()
        await layer.group_add(stream_group(self.stream_id), self.channel)
        await layer.group_add(stream_group(self.stream_id, STAFF), self.channel)

    async def stop(self) -> None:
        for task in [*self._tasks, *self._jobs.values()]:
            task.cancel()
        await asyncio.gather(*self._tasks, *self._jobs.values(), return_exceptions=True)
        layer = get_channel_layer()
        for audience in (PUBLIC, STAFF):
            await layer.group_discard(stream_group(self.stream_id, audience), self.channel)

    def add(self, consumer, *, staff: bool, viewer_key: str) -> None:
        self.sockets[consumer] = staff
        self.viewer_keys[viewer_key] = self.viewer_keys.get(viewer_key, 0) + 1

    def remove(self, consumer, *, viewer_key: str) -> None:
        self.sockets.pop(consumer, None)
        left = self.viewer_keys.get(viewer_key, 0) - 1
        if left > 0:
            self.viewer_keys[viewer_key] = left
        else:
            self.viewer_keys.pop(viewer_key, None)

    def push(self, event: dict, *, staff_only: bool = False) -> None:
        (self._staff if staff_only else self._public).append(event)
        if event.get("type") in _STATE_EVENTS:
            self.state.update({k: event[k] for k in _STATE_FIELDS if k in event})

    async def _receive_loop(self) -> None:
        layer = get_channel_layer()
        while True:
            try:
                message = await layer.receive(self.channel)
            except asyncio.CancelledError:
                raise
            except Exception:  # Redis hiccup: keep the hub alive; clients resync by seq
                logger.exception("hub %s: channel layer receive failed", self.stream_id)
                await asyncio.sleep(0.5)
                continue
            if message.get("type") == EVENT:
                self.push(message["event"], staff_only=message.get("group", "").endswith("." + STAFF))

    async def _tick_loop(self) -> None:
        interval = settings.REALTIME_FRAME_MS / 1000
        last_run = {fn: 0.0 for _, fn in _periodic}
        resubscribed = time.monotonic()
        while True:
            await asyncio.sleep(interval)
            await self.flush()
            now = time.monotonic()
            for seconds, fn in _periodic:
                job = self._jobs.get(fn)
                if now - last_run[fn] >= seconds() and (job is None or job.done()):
                    last_run[fn] = now
                    self._jobs[fn] = asyncio.create_task(self._run(fn))
            if now - resubscribed > 3600:  # keep group membership younger than group_expiry
                resubscribed = now
                await self._subscribe()

    async def _run(self, fn) -> None:
        try:
            await fn(self)
        except asyncio.CancelledError:
            raise
        except Exception:
            logger.exception("hub %s: periodic job %s failed", self.stream_id, fn.__name__)

    async def flush(self) -> None:
        """Send what arrived since the last flush: one text for public sockets, one for staff."""
        if not self._public and not self._staff:
            return
        public, staff = coalesce(self._public), coalesce(self._public + self._staff)
        self._public, self._staff = [], []
        public_text = frame_text(public) if public else None
        staff_text = frame_text(staff) if len(staff) != len(public) else public_text
        framed = {text: ws_text_frame(text.encode()) for text in {public_text, staff_text} if text is not None}
        for consumer, is_staff in list(self.sockets.items()):
            text = staff_text if is_staff else public_text
            if text is None:
                continue
            try:
                if consumer.raw_write is not None and consumer.held is None:
                    consumer.raw_write(framed[text])
                else:
                    await consumer.send_frame(text)
            except Exception:  # a socket closing under us must not stop the others
                logger.debug("hub %s: send failed", self.stream_id, exc_info=True)
            self.frames_sent += 1


_hubs: dict[str, StreamHub] = {}
_hub_lock: asyncio.Lock | None = None


def _lock() -> asyncio.Lock:
    global _hub_lock
    loop = asyncio.get_running_loop()
    if _hub_lock is None or getattr(_hub_lock, "_backline_loop", None) is not loop:
        _hub_lock = asyncio.Lock()
        _hub_lock._backline_loop = loop
        _hubs.clear()  # hubs of another event loop (a previous test) are dead
    return _hub_lock


async def hub_join(stream_id, consumer, *, staff: bool, viewer_key: str) -> StreamHub:
    """Attach a socket to its stream's hub in this process, starting the hub if it is the first."""
    global _server_loop
    key = str(stream_id)
    _server_loop = asyncio.get_running_loop()
    async with _lock():
        hub = _hubs.get(key)
        if hub is None:
            hub = _hubs[key] = StreamHub(key)
            await hub.start()
        hub.add(consumer, staff=staff, viewer_key=viewer_key)
    return hub


async def hub_leave(stream_id, consumer, *, viewer_key: str) -> None:
    key = str(stream_id)
    async with _lock():
        hub = _hubs.get(key)
        if hub is None:
            return
        hub.remove(consumer, viewer_key=viewer_key)
        if not hub.sockets:
            del _hubs[key]
            await hub.stop()


def hub_get(stream_id) -> StreamHub | None:
    return _hubs.get(str(stream_id))


def new_connection_id() -> str:
    return uuid.uuid4().hex
