"""The watch-page socket. Authorizes, joins the stream's hub, forwards frames to services.

Decisions (who may chat, rate limits, slow mode, seq numbers) live in services; events reach the
socket only through the hub in livestreams/realtime.py. Protocol: docs/realtime.md.
"""

import json
import logging
import re
import time
from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings

from livestreams import realtime
from livestreams.chat_selectors import chat_events_after, chat_pinned
from livestreams.selectors import stream_can_manage, stream_get
from livestreams.services import chat, presence, reactions
from livestreams.services.chat import ChatRefused

logger = logging.getLogger(__name__)

MAX_FRAME = 4096  # bytes of one incoming text frame
CLOSE_NOT_FOUND = 4404
CLOSE_FLOOD = 4429
_VID = re.compile(r"^[A-Za-z0-9_-]{8,40}$")


def _watch_context(*, stream_id, user) -> dict | None:
    """Everything connect() needs, in one thread hop: None (no such stream) or the hello frame
    plus whether this socket gets staff-only events. Read after the socket joined its hub, so no
    event can fall between `last_seq` and the first frame (a duplicate can; the seq rule drops it)."""
    stream = stream_get(stream_id=stream_id)
    if stream is None:
        return None
    perms = chat.chat_permissions(stream=stream, user=user)
    hello = {
        "type": "hello",
        "stream_id": str(stream.pk),
        "status": stream.status,
        "viewer_count": 0,
        "last_seq": stream.chat_seq,
        "pinned": chat_pinned(stream=stream),
        **perms,
        "reactions": reactions.reaction_emoji(),
        "chat_enabled": stream.chat_enabled,
        "reactions_enabled": stream.reactions_enabled,
        "slow_mode_seconds": stream.slow_mode_seconds,
        "chat_mode": stream.chat_mode,
    }
    return {"hello": hello, "staff": perms["can_moderate"] or stream_can_manage(stream=stream, user=user)}


def _chat_send(*, stream_id, user, text) -> None:
    stream = stream_get(stream_id=stream_id)
    chat.chat_message_post(stream=stream, user=user, text=text)


class StreamConsumer(AsyncWebsocketConsumer):
    # No channel-layer channel per socket: the stream's hub is the only subscriber in this process
    # (see realtime.py). An alias that names no layer makes Channels skip new_channel().
    channel_layer_alias = "none: delivery goes through the hub"
    hub = None
    held: list[str] | None = None  # frames from the hub that arrive before hello is sent
    raw_write = None  # Daphne fast path for hub frames (realtime.raw_writer), set after accept

    async def connect(self):
        user = self.scope.get("user")
        self.stream_id = str(self.scope["url_route"]["kwargs"]["stream_id"])
        self.viewer_key = self._viewer_key(user)
        self.connection_id = realtime.new_connection_id()
        self.window_start, self.window_frames = time.monotonic(), 0
        # Join first, hold frames until hello: nothing published from here on can be missed.
        self.held = []
        self.hub = await realtime.hub_join(self.stream_id, self, staff=False, viewer_key=self.viewer_key)
        context = await database_sync_to_async(_watch_context)(stream_id=self.stream_id, user=user)
        if context is None:
            await realtime.hub_leave(self.stream_id, self, viewer_key=self.viewer_key)
            self.hub = None
            return await self.close(code=CLOSE_NOT_FOUND)
        self.hub.sockets[self] = context["staff"]
        await self.accept()  # after every check
        self.raw_write = realtime.raw_writer(self.base_send)
        hello = context["hello"]
        first_visit = await presence.presence_join(stream_id=self.stream_id, viewer_key=self.viewer_key)
        hello["viewer_count"] = await presence.presence_count(stream_id=self.stream_id)
        presence.viewer_session_opened(
            connection_id=self.connection_id, stream_id=self.stream_id,
            user_id=user.pk if user is not None and user.is_authenticated else None,
            viewer_key=self.viewer_key, first_visit=first_visit,
        )
        for name in ("status", "chat_enabled", "reactions_enabled", "chat_mode", "slow_mode_seconds"):
            self.hub.state.setdefault(name, hello[name])
        await self.base_send({"type": "websocket.send", "text": json.dumps(hello, ensure_ascii=False)})
        held, self.held = self.held, None
        for text in held:
            await self.send_frame(text)

    def _viewer_key(self, user) -> str:
        """A signed-in user, else the browser's id: ?vid= (realtime.js keeps one in localStorage),
        the session key, or this connection."""
        if user is not None and user.is_authenticated:
            return f"u{user.pk}"
        vid = parse_qs(self.scope.get("query_string", b"").decode("latin-1")).get("vid", [""])[0]
        if _VID.match(vid):
            return f"a{vid}"
        session = self.scope.get("session")
        if session is not None and session.session_key:
            return f"s{session.session_key[:32]}"
        return f"c{realtime.new_connection_id()}"

    async def disconnect(self, code):
        if self.hub is None:
            return
        await realtime.hub_leave(self.stream_id, self, viewer_key=self.viewer_key)
        self.hub = None
        await presence.presence_leave(stream_id=self.stream_id, viewer_key=self.viewer_key)
        presence.viewer_session_closed(connection_id=self.connection_id)
        if realtime.hub_get(self.stream_id) is None:
            # The last local socket: this process stops ticking, so write and publish now.
            await presence.viewer_sessions_flush()
            await presence.viewer_count_publish(stream_id=self.stream_id)

    # --- Out: the hub writes the same text to every socket --------------------------------------

    async def send_frame(self, text: str) -> None:
        if self.held is not None:
            self.held.append(text)
            return
        await self.base_send({"type": "websocket.send", "text": text})

    async def send_event(self, event: dict) -> None:
        await self.send_frame(json.dumps(event, ensure_ascii=False, separators=(",", ":")))

    async def error(self, code: str, message: str, **extra) -> None:
        await self.send_event({"type": "error", "code": code, "message": message, **extra})

    # --- In ---------------------------------------------------------------------------------------

    async def receive(self, text_data=None, bytes_data=None):
        if self.hub is None:
            return
        if await self._flooding():
            return
        if text_data is None:
            return await self.error("malformed", "Send JSON text frames.")
        if len(text_data) > MAX_FRAME or len(text_data.encode("utf-8")) > MAX_FRAME:
            return await self.error("too_large", f"Frames are at most {MAX_FRAME} bytes.")
        try:
            frame = json.loads(text_data)
        except ValueError:
            return await self.error("malformed", "Frames are JSON objects.")
        if not isinstance(frame, dict) or not isinstance(frame.get("type"), str):
            return await self.error("malformed", 'Frames are JSON objects with a "type".')
        handler = self.HANDLERS.get(frame["type"])
        if handler is None:
            return await self.error("unknown_type", f"Unknown frame type {frame['type'][:40]!r}.")
        try:
            await handler(self, frame)
        except ChatRefused as exc:
            extra = {k: v for k, v in exc.extra.items() if k != "code"}
            await self.error(exc.code, exc.message, **extra)

    async def _flooding(self) -> bool:
        """Per-connection limit: over REALTIME_FRAMES_PER_S an error frame, over FLOOD_FACTOR x that
        the socket is closed."""
        now = time.monotonic()
        if now - self.window_start >= 1.0:
            self.window_start, self.window_frames = now, 0
        self.window_frames += 1
        limit = settings.REALTIME_FRAMES_PER_S
        if self.window_frames > limit * settings.REALTIME_FLOOD_FACTOR:
            await self.error("flood", "Too many frames; disconnecting.")
            await self.close(code=CLOSE_FLOOD)
            return True
        if self.window_frames > limit:
            if self.window_frames == limit + 1:
                await self.error("rate_limited", "Too many frames; slow down.", retry_after=1)
            return True
        return False

    async def _on_ping(self, frame):
        await self.send_event({"type": "pong"})

    async def _on_chat_send(self, frame):
        await database_sync_to_async(_chat_send)(stream_id=self.stream_id, user=self.scope["user"],
                                                 text=frame.get("text"))

    async def _on_reaction_send(self, frame):
        await reactions.reaction_add_async(stream_id=self.stream_id, user=self.scope["user"],
                                           emoji=frame.get("emoji"), state=self.hub.state)

    async def _on_chat_sync(self, frame):
        after = frame.get("after_seq")
        if not isinstance(after, int) or isinstance(after, bool) or after < 0:
            return await self.error("malformed", "after_seq is a non-negative integer.")
        result = await database_sync_to_async(chat_events_after)(stream_id=self.stream_id, after_seq=after)
        await self.send_event({"type": "chat:sync", **result})

    HANDLERS = {
        "ping": _on_ping,
        "chat.send": _on_chat_send,
        "reaction.send": _on_reaction_send,
        "chat.sync": _on_chat_sync,
    }
