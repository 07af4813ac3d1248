"""Fixtures shared by every app: users, API clients, captured realtime events and a real Redis."""

import shutil
import subprocess

import pytest
from rest_framework.test import APIClient

from streaming.testing import free_port, wait_for_port


@pytest.fixture
def published_events(monkeypatch):
    """Every realtime event published (after commit) during the test, as (group, event) pairs."""
    from livestreams import realtime

    sent = []
    monkeypatch.setattr(realtime, "_deliver", lambda group, event: sent.append((group, event)))
    return sent


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory):
    """A real redis-server on a free loopback port, for the whole session. Yields its URL."""
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.fail("redis-server is not installed: run `make test`, which installs it")
    port = free_port()
    workdir = tmp_path_factory.mktemp("redis")
    proc = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
         "--dir", str(workdir)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_port(port)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.fixture
def api():
    return APIClient()


@pytest.fixture
def fan(db):
    from accounts.tests.factories import UserFactory

    return UserFactory(username="fan")


@pytest.fixture
def artist(db):
    from accounts.tests.factories import ArtistFactory

    return ArtistFactory(username="artist")


@pytest.fixture
def other_artist(db):
    from accounts.tests.factories import ArtistFactory

    return ArtistFactory(username="other")


@pytest.fixture
def staff(db):
    from accounts.tests.factories import UserFactory

    return UserFactory(username="staff", is_staff=True, is_superuser=True)


@pytest.fixture
def client_for():
    """An API client authenticated as `user` by token (or anonymous for None)."""
    from rest_framework.authtoken.models import Token

    def make(user):
        client = APIClient()
        if user is not None:
            client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.get_or_create(user=user)[0].key}")
        return client

    return make


def pytest_sessionfinish(session):
    """Remove the test media folder and the SQLite test database's WAL files this run created."""
    import glob
    import os

    from django.conf import settings

    owner, _, root = os.environ.get("BACKLINE_TEST_MEDIA_OWNER", "").partition(":")
    if owner == str(os.getpid()):
        shutil.rmtree(root, ignore_errors=True)
    name = settings.DATABASES["default"].get("TEST", {}).get("NAME") or ""
    if name.startswith("/") and name.endswith(".sqlite3"):
        for leftover in glob.glob(name + "-*"):
            os.remove(leftover)
