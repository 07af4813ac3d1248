"""Real media-plane pieces for tests and benchmarks: the generated nginx-rtmp on free loopback ports,
and an ffmpeg encoder that publishes a test pattern the way OBS does.

    from streaming.testing import LocalNginxRtmp, publish_test_pattern

    with LocalNginxRtmp(callback_base_url=live_server.url) as nginx:     # callbacks go to Django
        encoder = publish_test_pattern(nginx.rtmp_url, stream.obs_stream_key, seconds=5)
        ...                                                               # stream goes live
        requests.get(nginx.playlist_url(stream.playback_id))              # HLS, by playback id
        encoder.wait()

Point Backline at this nginx (stats, kicks) with `settings.NGINX_CONTROL_URL = nginx.control_url`.
Everything started here is stopped by `.stop()` / the context manager; `publish_test_pattern`
returns the Popen, which the caller stops (`stop_process`). The pytest fixtures built on these are
in streaming/tests/conftest.py.
"""

import os
import random
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from django.conf import settings

from streaming.media_server_conf import NginxLayout, render_nginx_conf


_handed_out: set[int] = set()


def free_port() -> int:
    """A loopback port nothing listens on, for a server started next. Taken below the kernel's
    ephemeral range: a port the kernel hands out for bind(0) is also one it may give any outgoing
    connection (databases, Redis, encoders) before our server binds it; and never the same twice."""
    try:
        low = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        low = 32768
    for _ in range(500):
        port = random.randrange(max(1024, low // 2), low)
        if port in _handed_out:
            continue
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
        _handed_out.add(port)
        return port
    raise RuntimeError("no free loopback port below the ephemeral range")


def wait_for_port(port: int, timeout: float = 10.0, host: str = "127.0.0.1") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((host, port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.02)
    raise TimeoutError(f"nothing listens on {host}:{port} after {timeout}s")


def wait_until(predicate, timeout: float = 10.0, interval: float = 0.05, message: str = "condition"):
    """Call `predicate` until it returns something truthy; return that, or raise after `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"{message} not met after {timeout}s")
        time.sleep(interval)


def stop_process(proc: subprocess.Popen | None, timeout: float = 5.0, sig: int = signal.SIGTERM) -> None:
    """Stop a child and reap it; SIGKILL if it does not go in time."""
    if proc is None or proc.poll() is not None:
        return
    proc.send_signal(sig)
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=timeout)


def _loopback(url: str) -> str:
    # nginx-rtmp resolves callback hosts once, at start; "localhost" may become ::1 there.
    parts = urlsplit(url)
    if parts.hostname == "localhost":
        parts = parts._replace(netloc=parts.netloc.replace("localhost", "127.0.0.1", 1))
    return urlunsplit(parts).rstrip("/")


class LocalNginxRtmp:
    """The nginx that `make run` starts, from the same generated config, on free loopback ports.

    callback_base_url: the Django that answers the callbacks (pytest-django's `live_server.url`).
    Attributes once started: rtmp_url (OBS "Server"), hls_base_url, media_base_url (media_root at
    /media/, default settings.MEDIA_ROOT), control_url (/stat, /control), hls_dir, run_dir, layout.
    Pass web_port/daphne_ports to include the web proxy as well.
    """

    def __init__(self, callback_base_url: str, *, run_dir: Path | None = None, secret: str | None = None,
                 app: str | None = None, web_port: int | None = None, daphne_ports: tuple[int, ...] = (),
                 media_root: Path | None = None):
        self._own_dir = run_dir is None
        self.run_dir = Path(run_dir or tempfile.mkdtemp(prefix="backline-nginx-"))
        self.layout = NginxLayout.from_settings(
            run_dir=self.run_dir, rtmp_host="127.0.0.1", rtmp_port=free_port(), hls_host="127.0.0.1",
            hls_port=free_port(), control_port=free_port(), callback_base_url=_loopback(callback_base_url),
            callback_secret=secret or settings.MEDIA_SERVER_CALLBACK_SECRET, app=app or settings.RTMP_APP,
            web_host="127.0.0.1", web_port=web_port, daphne_ports=tuple(daphne_ports),
            media_root=Path(media_root or settings.MEDIA_ROOT))
        self.process: subprocess.Popen | None = None

    @property
    def rtmp_url(self) -> str:
        return f"rtmp://127.0.0.1:{self.layout.rtmp_port}/{self.layout.app}"

    @property
    def hls_base_url(self) -> str:
        return f"http://127.0.0.1:{self.layout.hls_port}/hls"

    @property
    def media_base_url(self) -> str:
        return f"http://127.0.0.1:{self.layout.hls_port}/media/"

    @property
    def control_url(self) -> str:
        return f"http://127.0.0.1:{self.layout.control_port}"

    @property
    def hls_dir(self) -> Path:
        return self.layout.hls_dir

    def playlist_url(self, playback_id: str) -> str:
        return f"{self.hls_base_url}/{playback_id}.m3u8"

    def start(self) -> "LocalNginxRtmp":
        if shutil.which("nginx") is None or not Path("/usr/lib/nginx/modules/ngx_rtmp_module.so").exists():
            raise RuntimeError("nginx with libnginx-mod-rtmp is not installed: run scripts/bootstrap.sh")
        self.layout.make_dirs()
        self.layout.conf_path.write_text(render_nginx_conf(self.layout))
        log = open(self.run_dir / "logs" / "stderr.log", "ab")  # noqa: SIM115 - owned by the process
        self.process = subprocess.Popen(self.layout.command(), stdout=log, stderr=log, stdin=subprocess.DEVNULL)
        log.close()
        try:
            for port in (self.layout.rtmp_port, self.layout.hls_port, self.layout.control_port):
                wait_for_port(port, timeout=10)
        except TimeoutError:
            self.stop()
            raise RuntimeError(f"nginx did not start; see {self.run_dir / 'logs'}") from None
        return self

    def stop(self) -> None:
        stop_process(self.process, sig=signal.SIGTERM)
        self.process = None
        if self._own_dir:
            shutil.rmtree(self.run_dir, ignore_errors=True)

    def __enter__(self) -> "LocalNginxRtmp":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


class AcceptAllCallbacks:
    """An HTTP server on loopback that answers 200 to every nginx-rtmp callback: an nginx started
    with it as its callback_base_url accepts any publish and play (a stand-in RTMP service for
    restream tests, or a benchmark without Django). Use as a context manager; `.url`."""

    def __init__(self):
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        class Accept(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's naming
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Accept)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self) -> "AcceptAllCallbacks":
        import threading

        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()


def publish_test_pattern(rtmp_url: str, stream_key: str, *, seconds: float | None = None, size: str = "640x360",
                         fps: int = 30, video_bitrate: str = "600k", preset: str = "ultrafast",
                         log_path: Path | None = None, extra_args: tuple[str, ...] = ()) -> subprocess.Popen:
    """Publish testsrc2 + a sine tone like OBS: real-time (-re), H.264 + AAC in FLV over RTMP, a
    keyframe every second (-g = fps). `stream_key` is the OBS key (`<playback_id>?key=<secret>`).
    Returns the running ffmpeg; it exits by itself after `seconds`, or when the server refuses or
    drops it (exit code != 0). Stop it with stop_process()."""
    argv = [os.environ.get("FFMPEG_BINARY", "ffmpeg"), "-hide_banner", "-nostdin", "-loglevel", "error", "-re",
            "-f", "lavfi", "-i", f"testsrc2=size={size}:rate={fps}", "-f", "lavfi", "-i", "sine=frequency=440",
            "-c:v", "libx264", "-preset", preset, "-tune", "zerolatency", "-g", str(fps), "-keyint_min", str(fps), "-sc_threshold", "0",
            "-b:v", video_bitrate, "-maxrate", video_bitrate, "-bufsize", video_bitrate,
            "-pix_fmt", "yuv420p", "-c:a", "aac", "-b:a", "96k", *extra_args]
    if seconds is not None:
        argv += ["-t", str(seconds)]
    argv += ["-f", "flv", f"{rtmp_url.rstrip('/')}/{stream_key}"]
    out = open(log_path, "ab") if log_path else subprocess.DEVNULL  # noqa: SIM115
    try:
        return subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=out)
    finally:
        if log_path:
            out.close()
