"""Helpers for the realtime tests: sockets on the real consumer stack (minus Daphne)."""

import asyncio
import json

from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.contrib.auth.models import AnonymousUser

from config.routing import websocket_urlpatterns
from channels.routing import URLRouter

APP = URLRouter(websocket_urlpatterns)


def events_of(text: str) -> list[dict]:
    frame = json.loads(text)
    return frame["events"] if frame.get("type") == "batch" else [frame]


class Socket:
    """A watch socket: connect(), then next(type) returns the next event of that type."""

    def __init__(self, stream, user=None, query: str = ""):
        self.comm = WebsocketCommunicator(APP, f"/ws/livestreams/{stream.pk}/{query}")
        self.comm.scope["user"] = user or AnonymousUser()
        self.seen: list[dict] = []
        self.hello = None

    async def connect(self):
        connected, code = await self.comm.connect(timeout=10)
        if connected:
            self.hello = await self.next("hello")
        return connected, code

    async def next(self, event_type: str, timeout: float = 10) -> dict:
        async with asyncio.timeout(timeout):
            while True:
                for i, event in enumerate(self.seen):
                    if event.get("type") == event_type:
                        return self.seen.pop(i)
                message = await self.comm.receive_output(timeout)
                if message["type"] == "websocket.close":
                    self.seen.append({"type": "__closed__", "code": message.get("code")})
                    continue
                self.seen.extend(events_of(message["text"]))

    async def send(self, frame) -> None:
        await self.comm.send_to(text_data=frame if isinstance(frame, str) else json.dumps(frame))

    async def close(self):
        await self.comm.disconnect()


def db(fn):
    return database_sync_to_async(fn)
