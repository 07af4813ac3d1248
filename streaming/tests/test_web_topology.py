"""The local web topology of `make run`: scripts/run-web.sh starts WEB_WORKERS Daphne processes on
loopback ports, the generated nginx proxies HTTP and WebSockets to them, SIGTERM stops them all."""

import json
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import requests
from django.conf import settings

from streaming.testing import LocalNginxRtmp, free_port, stop_process, wait_for_port, wait_until

pytestmark = pytest.mark.integration
BASE = Path(settings.BASE_DIR)


def _port_open(port: int) -> bool:
    try:
        wait_for_port(port, timeout=0.2)
        return True
    except TimeoutError:
        return False


def _two_free_ports() -> int:
    """A port whose successor is free too (run-web.sh uses DAPHNE_BASE_PORT + i)."""
    for _ in range(50):
        port = free_port()
        if port + 1 < 65535 and not _port_open(port + 1):
            with socket.socket() as s:
                try:
                    s.bind(("127.0.0.1", port + 1))
                except OSError:
                    continue
            return port
    raise RuntimeError("no two consecutive free loopback ports")


def test_two_daphne_workers_behind_the_proxy_serve_http_and_websockets(tmp_path, redis_server):
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings.local", "DJANGO_DEBUG": "false",
           "DATABASE_URL": f"sqlite:///{tmp_path / 'web.sqlite3'}", "REDIS_URL": redis_server,
           "DJANGO_ALLOWED_HOSTS": "127.0.0.1", "WEB_WORKERS": "2", "DAPHNE_BASE_PORT": str(_two_free_ports()),
           "DJANGO_LOG_LEVEL": "WARNING", "DJANGO_STATIC_ROOT": str(tmp_path / "static")}
    for command in (["migrate", "--noinput", "-v0"], ["collectstatic", "--noinput", "-v0"]):  # as `make run` does
        subprocess.run([sys.executable, "manage.py", *command], cwd=BASE, env=env, check=True, timeout=120)
    made = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c",
         "from accounts.tests.factories import ArtistFactory; from livestreams.services import stream_create; "
         "print(stream_create(artist=ArtistFactory(), title='t').pk)"],
        cwd=BASE, env=env, check=True, capture_output=True, text=True, timeout=60)
    stream_id = made.stdout.strip().splitlines()[-1]
    base_port = int(env["DAPHNE_BASE_PORT"])
    ports = (base_port, base_port + 1)
    log_path = tmp_path / "run-web.log"
    with open(log_path, "wb") as log:
        web = subprocess.Popen([str(BASE / "scripts" / "run-web.sh")], cwd=BASE, env=env, stdout=log,
                               stderr=subprocess.STDOUT, start_new_session=True)
    nginx = None
    try:
        for port in ports:
            wait_until(lambda port=port: _port_open(port) or web.poll() is not None, timeout=60,
                       message=f"Daphne on {port}")
            assert web.poll() is None, log_path.read_text()
        nginx = LocalNginxRtmp(callback_base_url="http://127.0.0.1:1", web_port=free_port(), daphne_ports=ports)
        nginx.start()
        wait_for_port(nginx.layout.web_port)
        url = f"http://127.0.0.1:{nginx.layout.web_port}"
        health = requests.get(f"{url}/health", timeout=10)
        assert health.status_code == 200 and health.json()["database"] == "ok"
        assert health.headers["Server"].startswith("nginx")
        # Both workers answer through the proxy (round robin), and static files come through too.
        for _ in range(4):
            assert requests.get(f"{url}/health", timeout=10).status_code == 200
        static = requests.get(f"{url}/static/css/site.css", timeout=10)
        assert static.status_code == 200 and "css" in static.headers["Content-Type"]

        from websockets.sync.client import connect

        with connect(f"ws://127.0.0.1:{nginx.layout.web_port}/ws/livestreams/{stream_id}/", origin=url,
                     open_timeout=10) as ws:
            assert json.loads(ws.recv(timeout=10))["type"] == "hello"

        os.killpg(web.pid, 0)  # still running
        web.send_signal(signal.SIGTERM)
        assert web.wait(timeout=20) == 0
        wait_until(lambda: not any(_port_open(p) for p in ports), timeout=10, message="both Daphne workers gone")
    finally:
        if nginx:
            nginx.stop()
        stop_process(web)
        try:
            os.killpg(web.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
