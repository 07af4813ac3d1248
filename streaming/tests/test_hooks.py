"""The callback endpoint: authentication, bad input, and idempotent lifecycle decisions, driven
with the form bodies nginx-rtmp really sends (tests/captured/nginx-rtmp/)."""

import json
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlencode

import pytest
from django.utils import timezone

from livestreams.models import Stream
from livestreams.tests.factories import StreamFactory
from streaming.media_servers import get_media_server
from streaming.media_servers.base import MAX_CALLBACK_BYTES
from streaming.models import PublishSession

pytestmark = pytest.mark.django_db
CAPTURED = Path(__file__).parent / "captured"
FORM = "application/x-www-form-urlencoded"


@pytest.fixture
def stream():
    return StreamFactory(playback_id="K3", stream_key="secret123")


@pytest.fixture
def hook(client, settings):
    def post(fields=None, *, server="nginx-rtmp", secret=None, data=None, content_type=FORM):
        secret = settings.MEDIA_SERVER_CALLBACK_SECRET if secret is None else secret
        if data is None:
            data = urlencode(fields)
        return client.post(f"/hooks/{server}/{secret}/", data=data, content_type=content_type)

    return post


def captured_form(name: str) -> dict:
    return json.loads((CAPTURED / "nginx-rtmp" / name).read_text())["form"]


def publish(clientid="1", **extra):
    return {**captured_form("notify_publish_with_key_arg.json"), "clientid": clientid, **extra}


def publish_done(clientid="1"):
    return {**captured_form("notify_publish_done.json"), "clientid": clientid}


def state(stream):
    stream.refresh_from_db()
    return (stream.status, stream.started_at, stream.publisher_active, stream.publisher_client_id,
            stream.interrupted_at, PublishSession.objects.count())


# --- bad input: 4xx with a reason, nothing written ------------------------------------------------
@pytest.mark.parametrize(("kwargs", "status", "says"), [
    ({"secret": "wrong"}, 403, "secret"),
    ({"secret": "x" * 200}, 403, "secret"),
    ({"server": "wowza"}, 404, "media server"),
    ({"content_type": "application/json"}, 415, "Expected"),
    ({"content_type": "text/plain"}, 415, "Expected"),
    ({"data": "app=live&call=publish"}, 400, "Missing fields"),
    ({"data": "app=live&flashver=x&clientid=1&call=teleport&name=K3&key=secret123"}, 400, "Unknown call"),
    ({"data": "a" * (MAX_CALLBACK_BYTES + 1)}, 413, "too large"),
    ({"data": b"app=live&name=\xff\xfe&call=publish&clientid=1"}, 400, "UTF-8"),
    ({"server": "srs", "data": '{"action": "on_publish", "client_id": "a", "app": "live", "str',
      "content_type": "application/json"}, 400, "JSON"),
    ({"server": "srs", "data": "[1, 2]", "content_type": "application/json"}, 400, "object"),
    ({"server": "srs", "data": '{"action": "on_publish"}', "content_type": "application/json"}, 400, "Missing"),
    ({"server": "srs", "data": json.dumps({"action": "on_dance", "client_id": "a", "app": "live", "stream": "K3"}),
      "content_type": "application/json"}, 400, "Unknown action"),
    ({"server": "srs", "data": "x" * (MAX_CALLBACK_BYTES + 10), "content_type": "application/json"}, 413, "large"),
    ({"server": "srs", "content_type": FORM}, 415, "application/json"),
])
def test_bad_callbacks_get_4xx_and_change_nothing(hook, stream, kwargs, status, says):
    before = state(stream)
    fields = None if "data" in kwargs else publish()
    response = hook(fields, **kwargs)
    assert response.status_code == status
    assert says.lower() in response.content.decode().lower()
    assert state(stream) == before
    assert stream.status == Stream.Status.SCHEDULED


def test_no_secret_at_all_is_not_found(client, stream):
    response = client.post("/hooks/nginx-rtmp/", data=urlencode(publish()), content_type=FORM)
    assert response.status_code == 404
    assert state(stream)[0] == Stream.Status.SCHEDULED


def test_only_post(client, settings, stream):
    response = client.get(f"/hooks/nginx-rtmp/{settings.MEDIA_SERVER_CALLBACK_SECRET}/", publish())
    assert response.status_code == 405 and state(stream)[0] == Stream.Status.SCHEDULED


def test_the_key_never_reaches_the_logs(hook, stream, caplog):
    caplog.set_level("DEBUG")
    hook(publish())
    hook(publish(clientid="2", key="not-the-key"))
    assert caplog.records and "secret123" not in caplog.text and "not-the-key" not in caplog.text


# --- decisions -------------------------------------------------------------------------------------
def test_publish_goes_live_once_and_a_repeat_is_idempotent(hook, stream, django_capture_on_commit_callbacks,
                                                           published_events):
    with django_capture_on_commit_callbacks(execute=True):
        assert hook(publish()).status_code == 200
        assert hook(publish()).status_code == 200  # the same publish, delivered twice
    status, started_at, active, client_id, interrupted_at, sessions = state(stream)
    assert (status, active, client_id, interrupted_at, sessions) == (Stream.Status.LIVE, True, "1", None, 1)
    assert [e["type"] for _, e in published_events].count("stream:start") == 1


@pytest.mark.parametrize(("change", "reason"), [
    ({"app": "other"}, "application"),
    ({"key": "wrong"}, "wrong key"),
    ({"key": ""}, "wrong key"),
    ({"name": "Unknown42"}, "wrong key"),
])
def test_refused_publishes(hook, stream, change, reason):
    before = state(stream)
    response = hook(publish(**change))
    assert response.status_code == 403 and reason in response.content.decode()
    assert state(stream) == before


@pytest.mark.parametrize("status", [Stream.Status.ENDED, Stream.Status.CANCELLED, Stream.Status.ARCHIVED])
def test_finished_streams_refuse_publishes(hook, stream, status):
    Stream.objects.filter(pk=stream.pk).update(status=status)
    before = state(stream)
    assert hook(publish()).status_code == 403
    assert state(stream) == before


def test_preparing_stream_goes_live(hook, stream):
    Stream.objects.filter(pk=stream.pk).update(status=Stream.Status.PREPARING)
    assert hook(publish()).status_code == 200
    assert state(stream)[0] == Stream.Status.LIVE


def test_second_encoder_is_refused_while_the_first_publishes(hook, stream):
    hook(publish(clientid="1"))
    before = state(stream)
    response = hook(publish(clientid="2"))
    assert response.status_code == 403 and "another encoder" in response.content.decode()
    assert state(stream) == before
    # Its done callback changes nothing either.
    assert hook(publish_done(clientid="2")).status_code == 200
    assert state(stream) == before


def test_late_unpublish_of_an_old_session_after_a_resume_changes_nothing(hook, stream):
    hook(publish(clientid="1"))
    hook(publish_done(clientid="1"))
    assert state(stream)[4] is not None  # interrupted
    assert hook(publish(clientid="2")).status_code == 200  # resumed inside the window
    after_resume = state(stream)
    assert after_resume[2:5] == (True, "2", None)
    hook(publish_done(clientid="1"))  # arrives late, twice
    hook(publish_done(clientid="1"))
    assert state(stream) == after_resume
    sessions = PublishSession.objects.order_by("started_at")
    assert [(s.client_id, s.resumed, s.is_open) for s in sessions] == [("1", False, False), ("2", True, True)]


def test_publish_after_the_window_closed_is_refused(hook, stream, settings):
    hook(publish(clientid="1"))
    hook(publish_done(clientid="1"))
    Stream.objects.filter(pk=stream.pk).update(
        interrupted_at=timezone.now() - timedelta(seconds=settings.INGEST_RECONNECT_WINDOW + 1))
    before = state(stream)
    response = hook(publish(clientid="2"))
    assert response.status_code == 403 and "window" in response.content.decode()
    assert state(stream) == before


def test_unpublish_of_an_unknown_stream_or_client_is_answered_and_ignored(hook, stream):
    assert hook({**publish_done(), "name": "Nope"}).status_code == 200
    assert hook(publish_done(clientid="77")).status_code == 200
    assert state(stream)[0] == Stream.Status.SCHEDULED and PublishSession.objects.count() == 0


@pytest.mark.parametrize("name", ["notify_done_player.json", "notify_done_publisher.json",
                                  "notify_update_publish.json", "notify_record_done.json", "notify_play_done.json"])
def test_calls_backline_ignores_are_answered_yes(hook, stream, name):
    before = state(stream)
    assert hook(captured_form(name)).status_code == 200
    assert state(stream) == before


def test_play_only_for_live_streams(hook, stream):
    play = captured_form("notify_play.json")
    assert hook(play).status_code == 403
    hook(publish())
    assert hook(play).status_code == 200


def test_captured_nginx_bodies_parse():
    from django.test import RequestFactory

    server = get_media_server("nginx-rtmp")
    request = RequestFactory().post("/", data=json.loads(
        (CAPTURED / "nginx-rtmp" / "notify_publish_with_key_arg.json").read_text())["body_raw"], content_type=FORM)
    event = server.parse_callback(request)
    assert (event.action, event.app, event.name, event.key, event.client_id) == ("publish", "live", "K3", "secret123", "1")


def test_refusals_do_not_log_the_callback_secret(hook, stream, caplog, settings):
    caplog.set_level("DEBUG")
    assert hook(publish(key="wrong")).status_code == 403
    assert hook(publish(), secret="wrong-secret").status_code == 403
    assert "answered 403" in caplog.text
    assert settings.MEDIA_SERVER_CALLBACK_SECRET not in caplog.text and "wrong-secret" not in caplog.text
