"""Fixtures with the real media plane: nginx-rtmp from the generated config calling back
pytest-django's live server, and ffmpeg encoders.

Other apps' tests can use them too: add `pytest_plugins = ["streaming.tests.fixtures"]` to the root
conftest.py (this file is then redundant), or build on streaming.testing directly.
"""

import pytest

from streaming.testing import LocalNginxRtmp, publish_test_pattern, stop_process


@pytest.fixture(scope="session")
def nginx_rtmp(live_server):
    """The real nginx-rtmp on free loopback ports, its callbacks pointing at the live server."""
    with LocalNginxRtmp(callback_base_url=live_server.url) as nginx:
        yield nginx


@pytest.fixture
def media_server(nginx_rtmp, settings, transactional_db):
    """nginx_rtmp, with Backline's settings pointing at it and a 2 s reconnect window."""
    settings.MEDIA_SERVER = "nginx-rtmp"
    settings.NGINX_CONTROL_URL = nginx_rtmp.control_url
    settings.INGEST_RECONNECT_WINDOW = 2.0
    # nginx is shared by the session: let encoders stopped by an earlier test leave it first.
    from streaming.media_servers.nginx_rtmp import NginxRtmpServer
    from streaming.testing import wait_until

    server = NginxRtmpServer(control_url=nginx_rtmp.control_url)
    wait_until(lambda: not [s for s in server.fetch_stats() if s.publishing], timeout=15,
               message="no publisher left over from an earlier test")
    return nginx_rtmp


@pytest.fixture
def encoder(media_server, tmp_path):
    """Start ffmpeg test-pattern publishers: encoder(obs_key, seconds=None, **kw) -> Popen.
    Every one still running is stopped at teardown."""
    started = []

    def start(stream_key: str, **kwargs):
        kwargs.setdefault("log_path", tmp_path / f"ffmpeg-{len(started)}.log")
        proc = publish_test_pattern(media_server.rtmp_url, stream_key, **kwargs)
        started.append(proc)
        return proc

    try:
        yield start
    finally:
        for proc in started:
            stop_process(proc)
        if started:
            _wait_for_callbacks_to_settle(media_server)


def _wait_for_callbacks_to_settle(nginx) -> None:
    """nginx calls back (publish done) after its encoders go, asynchronously. A callback that
    reached the live server after this test's database was flushed would fail there, or write into
    the next test's. Wait until nginx has no publisher and every accepted session is closed, then
    give a callback for an already closed session (a kicked encoder's) a moment to land."""
    import time

    from streaming.media_servers.nginx_rtmp import NginxRtmpServer
    from streaming.models import PublishSession
    from streaming.testing import wait_until

    server = NginxRtmpServer(control_url=nginx.control_url)
    wait_until(lambda: not [s for s in server.fetch_stats() if s.publishing], timeout=15,
               message="encoders gone from nginx")
    wait_until(lambda: not PublishSession.objects.filter(ended_at__isnull=True).exists(), timeout=10,
               message="publish-done callbacks handled")
    time.sleep(0.3)
