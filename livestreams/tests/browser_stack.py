"""The whole stack on loopback for real-browser tests and bench/glass_to_glass.py: Daphne (HTTP +
WebSockets), the real nginx-rtmp (streaming.testing) calling Daphne back, optionally a Celery
worker with beat (stats polling -> health events), all sharing one database and one real Redis.
Plus a Chromium launcher (Debian's /usr/bin/chromium; never `playwright install`).

    with BackendStack(database_url=..., redis_url=...) as stack:
        stack.url            # http://127.0.0.1:<port> (Daphne)
        stack.nginx          # streaming.testing.LocalNginxRtmp
        stack.publish(obs_key, seconds=30) -> Popen (ffmpeg test pattern)
"""

import os
import subprocess
import sys
import tempfile
from pathlib import Path

from streaming.testing import LocalNginxRtmp, free_port, publish_test_pattern, stop_process, wait_for_port

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--autoplay-policy=no-user-gesture-required",
    "--disable-dev-shm-usage",
]
CALLBACK_SECRET = "browser-test-callback-secret"


def database_url_for(connection) -> str:
    """The (test) database as a URL a subprocess can open: an SQLite file or PostgreSQL."""
    db = connection.settings_dict
    if db["ENGINE"] == "django.db.backends.sqlite3":
        return f"sqlite:///{db['NAME']}"
    return f"postgres://{db['USER']}:{db['PASSWORD']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


class BackendStack:
    def __init__(self, *, database_url: str, redis_url: str, celery: bool = False, log_dir: Path | None = None,
                 extra_env: dict | None = None):
        self.database_url, self.redis_url, self.celery = database_url, redis_url, celery
        self.log_dir = Path(log_dir or tempfile.mkdtemp(prefix="backline-browser-"))
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.nginx = LocalNginxRtmp(callback_base_url=self.url, secret=CALLBACK_SECRET)
        self.extra_env = extra_env or {}
        self.procs: list[subprocess.Popen] = []
        self.worker: subprocess.Popen | None = None
        self.encoders: list[subprocess.Popen] = []

    def env(self) -> dict:
        return {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "config.settings.local",
            "DJANGO_DEBUG": "true",  # WhiteNoise serves static/ straight from the finders
            "DATABASE_URL": self.database_url,
            "REDIS_URL": self.redis_url,
            "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
            "WEB_HOST": "127.0.0.1",
            "WEB_PORT": str(self.port),
            "RTMP_PUBLIC_URL": self.nginx.rtmp_url,
            "HLS_URL_TEMPLATE": self.nginx.hls_base_url + "/{playback_id}.m3u8",
            "MEDIA_SERVER": "nginx-rtmp",
            "MEDIA_SERVER_CALLBACK_SECRET": CALLBACK_SECRET,
            "NGINX_CONTROL_URL": self.nginx.control_url,
            # Relays read the stream from this nginx, and players fetch what they write from it.
            "RELAYS_INPUT_URL": self.nginx.rtmp_url + "/{playback_id}",
            "MEDIA_PUBLIC_URL": self.nginx.media_base_url,
            "STATS_POLL_INTERVAL": "1",
            "REALTIME_FRAME_MS": "100",
            "DJANGO_LOG_LEVEL": "WARNING",
            **self.extra_env,
        }

    def _spawn(self, name: str, argv: list[str]) -> subprocess.Popen:
        log = open(self.log_dir / f"{name}.log", "ab")  # noqa: SIM115 - owned by the child
        proc = subprocess.Popen(argv, cwd=ROOT, env=self.env(), stdout=log, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL)
        log.close()
        self.procs.append(proc)
        return proc

    def start(self) -> "BackendStack":
        try:
            self._spawn("daphne", [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(self.port),
                                   "config.asgi:application"])
            self.start_worker()
            self.nginx.start()
            wait_for_port(self.port, timeout=30)
        except BaseException:
            self.stop()
            raise
        return self

    def start_worker(self) -> None:
        """The Celery worker with beat, when the stack has one and it is not running."""
        if self.celery and (self.worker is None or self.worker.poll() is not None):
            self.worker = self._spawn("celery", [sys.executable, "-m", "celery", "-A", "config", "worker", "-B",
                                                 "--concurrency", "1", "--pool", "solo", "-l", "warning",
                                                 "--schedule", str(self.log_dir / "beat-schedule")])

    def stop_worker(self) -> None:
        """Let the worker finish its task and exit. A test database is flushed (TRUNCATE of every
        table) only while no worker writes: PostgreSQL may otherwise pick the flush as a deadlock's
        victim, and the relay supervisor writes every pass."""
        if self.worker is not None:
            stop_process(self.worker, timeout=15)
            self.procs.remove(self.worker)
            self.worker = None

    def publish(self, obs_key: str, **kwargs) -> subprocess.Popen:
        kwargs.setdefault("log_path", self.log_dir / f"ffmpeg-{len(self.encoders)}.log")
        proc = publish_test_pattern(self.nginx.rtmp_url, obs_key, **kwargs)
        self.encoders.append(proc)
        return proc

    def stop(self) -> None:
        for proc in self.encoders:
            stop_process(proc)
        self.nginx.stop()
        for proc in reversed(self.procs):
            stop_process(proc, timeout=10)
        self.procs.clear()
        self.worker = None

    def logs(self) -> str:
        return "\n".join(f"--- {p.name}\n{p.read_text(errors='replace')[-3000:]}" for p in sorted(self.log_dir.glob("*.log")))

    def __enter__(self) -> "BackendStack":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def launch_chromium(playwright, **kwargs):
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True, **kwargs)


def set_portable_password(user, password: str) -> None:
    """Test settings hash with MD5 only, which the Daphne subprocess (local settings) does not
    accept: store a PBKDF2 hash (few iterations: it is a test) that both sides can check."""
    from django.contrib.auth.hashers import PBKDF2PasswordHasher

    user.password = PBKDF2PasswordHasher().encode(password, "browsertestsalt", iterations=1000)
    user.save(update_fields=["password"])


def login(context, base_url: str, username: str, password: str) -> None:
    """Log a browser context in through the real login form."""
    page = context.new_page()
    page.goto(f"{base_url}/accounts/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    with page.expect_navigation():
        page.click("form.auth-form button[type=submit]")
    if "/accounts/login/" in page.url:
        raise AssertionError(f"login as {username} failed: {page.inner_text('main')[:500]}")
    page.close()
