"""Through the real stack: two Daphne processes and a real Redis on loopback, joined by the
channels_redis layer. One client chats on one process; the other, on the other process, receives it."""

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from django.test import Client

from streaming.testing import free_port, wait_for_port
from livestreams.tests.factories import LiveStreamFactory

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

ROOT = Path(settings.BASE_DIR)


def _database_url() -> str:
    """The test database as a URL the Daphne subprocesses can open (SQLite file or PostgreSQL)."""
    db = connection.settings_dict
    if db["ENGINE"] == "django.db.backends.sqlite3":
        return f"sqlite:///{db['NAME']}"
    return f"postgres://{db['USER']}:{db['PASSWORD']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


@pytest.fixture
def daphnes(redis_server, tmp_path):
    ports = [free_port(), free_port()]
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings.local", "DATABASE_URL": _database_url(),
           "REDIS_URL": redis_server, "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost", "DJANGO_DEBUG": "false",
           "REALTIME_FRAME_MS": "50"}
    procs = [
        subprocess.Popen([sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port), "config.asgi:application"],
                         cwd=ROOT, env=env, stdout=open(tmp_path / f"daphne-{port}.log", "wb"), stderr=subprocess.STDOUT)
        for port in ports
    ]
    try:
        for port in ports:
            wait_for_port(port, timeout=30)
        yield ports
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(timeout=10)


def _events(text: str) -> list[dict]:
    frame = json.loads(text)
    return frame["events"] if frame["type"] == "batch" else [frame]


_unread: dict = {}  # events received but not yet asked for, per socket


async def _next(ws, event_type: str) -> dict:
    unread = _unread.setdefault(id(ws), [])
    async with asyncio.timeout(15):
        while True:
            for i, event in enumerate(unread):
                if event["type"] == event_type:
                    return unread.pop(i)
            unread.extend(_events(await ws.recv()))


def test_two_clients_on_two_daphnes_see_each_others_chat(daphnes, artist, fan):
    from websockets.asyncio.client import connect

    stream = LiveStreamFactory(artist=artist)
    web = Client()
    web.force_login(fan)
    cookie = f"sessionid={web.cookies['sessionid'].value}"

    async def scenario():
        url = "ws://127.0.0.1:{}/ws/livestreams/%s/" % stream.pk
        async with connect(url.format(daphnes[0]), origin="http://127.0.0.1",
                           additional_headers={"Cookie": cookie}) as sender, \
                connect(url.format(daphnes[1]) + "?vid=watcher-browser-1", origin="http://127.0.0.1") as watcher:
            sender_hello, watcher_hello = await _next(sender, "hello"), await _next(watcher, "hello")
            assert sender_hello["can_chat"] is True and watcher_hello["can_chat"] is False
            await sender.send(json.dumps({"type": "chat.send", "text": "hello from process one"}))
            received = await _next(watcher, "stream:chat-message")
            assert received["message"]["text"] == "hello from process one"
            assert received["message"]["user"]["username"] == "fan" and received["seq"] == 1
            # Both processes see both viewers through Redis presence.
            while (await _next(watcher, "stream:viewer-count"))["count"] != 2:
                pass

    asyncio.run(scenario())
