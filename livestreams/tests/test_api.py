"""The livestreams REST API: permissions, bad input, key secrecy and query counts."""

from datetime import timedelta

import pytest
from django.utils import timezone

from livestreams.models import Stream
from livestreams.tests.factories import LiveStreamFactory, StreamFactory

pytestmark = pytest.mark.django_db

BASE = "/api/v1/livestreams/"
ROLES = ["anonymous", "fan", "other_artist", "owner", "staff"]


@pytest.fixture
def as_role(client_for, fan, artist, other_artist, staff):
    users = {"anonymous": None, "fan": fan, "other_artist": other_artist, "owner": artist, "staff": staff}
    return lambda role: client_for(users[role])


def _future(hours=2):
    return (timezone.now() + timedelta(hours=hours)).isoformat()


# --- permission matrix ----------------------------------------------------------------------

@pytest.mark.parametrize(("role", "expected"), list(zip(ROLES, [401, 403, 201, 201, 403])))
def test_create_permissions(as_role, role, expected):
    response = as_role(role).post(BASE, {"title": "Soundcheck"}, format="json")
    assert response.status_code == expected, response.content
    assert Stream.objects.count() == (1 if expected == 201 else 0)


@pytest.mark.parametrize("role", ROLES)
def test_read_endpoints_are_public(as_role, artist, role):
    stream = LiveStreamFactory(artist=artist)
    client = as_role(role)
    assert client.get(BASE).status_code == 200
    assert client.get(f"{BASE}{stream.pk}/").status_code == 200
    assert client.get(f"{BASE}{stream.pk}/status/").status_code == 200


OWNER_ONLY = {"anonymous": 401, "fan": 403, "other_artist": 403, "owner": 200, "staff": 200}


@pytest.mark.parametrize("role", ROLES)
def test_patch_permissions(as_role, artist, role):
    stream = StreamFactory(artist=artist, title="Before")
    response = as_role(role).patch(f"{BASE}{stream.pk}/", {"title": "After"}, format="json")
    assert response.status_code == OWNER_ONLY[role]
    stream.refresh_from_db()
    assert stream.title == ("After" if OWNER_ONLY[role] == 200 else "Before")


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(("action", "start_status", "end_status"), [
    ("start", Stream.Status.SCHEDULED, Stream.Status.PREPARING),
    ("stop", Stream.Status.LIVE, Stream.Status.ENDED),
    ("cancel", Stream.Status.SCHEDULED, Stream.Status.CANCELLED),
])
def test_action_permissions(as_role, artist, role, action, start_status, end_status):
    stream = StreamFactory(artist=artist, status=start_status)
    response = as_role(role).post(f"{BASE}{stream.pk}/{action}/")
    assert response.status_code == OWNER_ONLY[role]
    stream.refresh_from_db()
    assert stream.status == (end_status if OWNER_ONLY[role] == 200 else start_status)
    if OWNER_ONLY[role] == 200:
        assert response.json()["status"] == end_status


@pytest.mark.parametrize("role", ROLES)
def test_rotate_key_permissions(as_role, artist, role):
    stream = StreamFactory(artist=artist)
    response = as_role(role).post(f"{BASE}{stream.pk}/rotate-key/")
    assert response.status_code == OWNER_ONLY[role]
    old_key = stream.stream_key
    stream.refresh_from_db()
    if OWNER_ONLY[role] == 200:
        assert stream.stream_key != old_key
        assert response.json()["stream_key"] == f"{stream.playback_id}?key={stream.stream_key}"
    else:
        assert stream.stream_key == old_key


# --- the contract ---------------------------------------------------------------------------

def test_create_returns_the_obs_fields(client_for, artist):
    response = client_for(artist).post(BASE, {"title": "Night set", "scheduled_at": _future()}, format="json")
    assert response.status_code == 201
    body = response.json()
    stream = Stream.objects.get(pk=body["id"])
    assert {"id", "title", "description", "status", "scheduled_at", "rtmp_url", "stream_key", "hls_url",
            "watch_url", "visibility", "chat_enabled", "reactions_enabled", "chat_mode", "quality_preset",
            "record", "thumbnail_url"} <= set(body)
    assert body["status"] == "scheduled"
    assert body["rtmp_url"] == "rtmp://127.0.0.1:1935/live"
    assert body["stream_key"] == f"{stream.playback_id}?key={stream.stream_key}"
    assert body["hls_url"] is None  # only while live
    assert body["watch_url"].endswith(f"/livestreams/{stream.pk}/")


def test_every_field_can_be_set_on_create(client_for, artist):
    payload = {"title": "Full", "description": "All of it", "scheduled_at": _future(), "visibility": "unlisted",
               "chat_enabled": False, "reactions_enabled": False, "chat_mode": "followers",
               "quality_preset": "720p", "record": True, "thumbnail_url": "https://img.example.test/a.jpg"}
    body = client_for(artist).post(BASE, payload, format="json").json()
    for name, value in payload.items():
        if name != "scheduled_at":
            assert body[name] == value, name


def test_hls_url_appears_while_live_and_never_carries_the_key(api):
    stream = LiveStreamFactory()
    body = api.get(f"{BASE}{stream.pk}/").json()
    assert body["hls_url"] == f"http://127.0.0.1:8080/hls/{stream.playback_id}.m3u8"
    status = api.get(f"{BASE}{stream.pk}/status/").json()
    assert status == {"status": "live", "viewer_count": 0, "started_at": body["started_at"], "ended_at": None,
                      "is_interrupted": False, "hls_url": body["hls_url"]}


@pytest.mark.parametrize("role", ["anonymous", "fan", "other_artist"])
def test_the_key_never_reaches_anyone_but_the_owner(as_role, artist, role):
    stream = LiveStreamFactory(artist=artist, visibility="public")
    client = as_role(role)
    for url in (BASE, f"{BASE}{stream.pk}/", f"{BASE}{stream.pk}/status/", f"{BASE}?active=true",
                f"/livestreams/{stream.pk}/", "/"):
        text = client.get(url).content.decode()
        assert stream.stream_key not in text, url
        assert "rtmp_url" not in text and "stream_key" not in text, url


def test_filters(api, artist, other_artist):
    live = LiveStreamFactory(artist=artist)
    soon = StreamFactory(artist=other_artist, scheduled_at=timezone.now() + timedelta(hours=1))
    later = StreamFactory(artist=artist, scheduled_at=timezone.now() + timedelta(hours=5))
    StreamFactory(artist=artist, status=Stream.Status.ENDED)
    StreamFactory(artist=artist, visibility="unlisted")  # never listed publicly

    def ids(query):
        return [item["id"] for item in api.get(f"{BASE}?{query}").json()["results"]]

    assert ids("active=true") == [str(live.pk)]
    assert ids("upcoming=true")[:2] == [str(soon.pk), str(later.pk)]
    assert set(ids("artist=other")) == {str(soon.pk)}
    assert set(ids("status=live")) == {str(live.pk)}
    assert len(ids("")) == 4


def test_list_is_paginated(api):
    StreamFactory.create_batch(25)
    body = api.get(BASE).json()
    assert body["count"] == 25 and len(body["results"]) == 20 and body["next"]


# --- bad input ------------------------------------------------------------------------------

@pytest.mark.parametrize(("payload", "field"), [
    ({}, "title"),
    ({"title": ""}, "title"),
    ({"title": "   "}, "title"),
    ({"title": "x" * 141}, "title"),
    ({"title": ["a"]}, "title"),
    ({"title": "ok", "description": "x" * 5001}, "description"),
    ({"title": "ok", "scheduled_at": "yesterday"}, "scheduled_at"),
    ({"title": "ok", "scheduled_at": "2001-01-01T00:00:00Z"}, "scheduled_at"),
    ({"title": "ok", "visibility": "secret"}, "visibility"),
    ({"title": "ok", "chat_mode": "loud"}, "chat_mode"),
    ({"title": "ok", "quality_preset": "8k"}, "quality_preset"),
    ({"title": "ok", "record": "perhaps"}, "record"),
    ({"title": "ok", "chat_enabled": [1]}, "chat_enabled"),
    ({"title": "ok", "thumbnail_url": "javascript:alert(1)"}, "thumbnail_url"),
    ({"title": "ok", "status": "live"}, "status"),
    ({"title": "ok", "stream_key": "mine"}, "stream_key"),
])
def test_create_rejects_bad_input_per_field(client_for, artist, payload, field):
    response = client_for(artist).post(BASE, payload, format="json")
    assert response.status_code == 400
    errors = response.json()
    assert field in errors and all(isinstance(m, str) and m for m in errors[field])
    assert Stream.objects.count() == 0


def test_create_rejects_a_body_that_is_not_an_object(client_for, artist):
    response = client_for(artist).post(BASE, "[1, 2]", content_type="application/json")
    assert response.status_code == 400
    response = client_for(artist).post(BASE, "{not json", content_type="application/json")
    assert response.status_code == 400 and "JSON" in response.json()["detail"]
    assert Stream.objects.count() == 0


def test_fan_cannot_create_and_is_told_why(client_for, fan):
    response = client_for(fan).post(BASE, {"title": "Mine"}, format="json")
    assert response.status_code == 403 and "artist" in response.json()["detail"].lower()


@pytest.mark.parametrize(("payload", "field"), [
    ({"title": ""}, "title"), ({"chat_mode": "nope"}, "chat_mode"), ({"viewer_count": 5}, "viewer_count"),
    ({"scheduled_at": "2001-01-01T00:00:00Z"}, "scheduled_at"),
])
def test_patch_rejects_bad_input_and_writes_nothing(client_for, artist, payload, field):
    stream = StreamFactory(artist=artist, title="Keep", chat_mode="open")
    before = Stream.objects.filter(pk=stream.pk).values().get()
    response = client_for(artist).patch(f"{BASE}{stream.pk}/", {**payload, "description": "changed"}, format="json")
    assert response.status_code == 400 and field in response.json()
    assert Stream.objects.filter(pk=stream.pk).values().get() == before


def test_patch_of_a_finished_stream_is_a_conflict(client_for, artist):
    stream = StreamFactory(artist=artist, status=Stream.Status.CANCELLED)
    response = client_for(artist).patch(f"{BASE}{stream.pk}/", {"title": "New"}, format="json")
    assert response.status_code == 409 and response.json()["detail"]


def test_reschedule_after_start_is_a_conflict(client_for, artist):
    stream = LiveStreamFactory(artist=artist)
    response = client_for(artist).patch(f"{BASE}{stream.pk}/", {"scheduled_at": _future()}, format="json")
    assert response.status_code == 409


@pytest.mark.parametrize("action", ["start", "stop", "cancel"])
def test_illegal_action_is_409_with_the_current_status(client_for, artist, action):
    stream = StreamFactory(artist=artist, status=Stream.Status.ENDED)
    response = client_for(artist).post(f"{BASE}{stream.pk}/{action}/")
    assert response.status_code == 409
    assert response.json()["status"] == "ended" and "ended" in response.json()["detail"]
    stream.refresh_from_db()
    assert stream.status == Stream.Status.ENDED


@pytest.mark.parametrize("suffix", ["", "status/", "start/", "stop/"])
@pytest.mark.parametrize("stream_id", ["00000000-0000-0000-0000-000000000000", "12345", "not-a-uuid"])
def test_unknown_ids_are_404(client_for, artist, suffix, stream_id):
    client = client_for(artist)
    call = client.get if suffix in ("", "status/") else client.post
    assert call(f"{BASE}{stream_id}/{suffix}").status_code == 404


def test_settings_change_is_published(client_for, artist, published_events, django_capture_on_commit_callbacks):
    stream = LiveStreamFactory(artist=artist)
    with django_capture_on_commit_callbacks(execute=True):
        client_for(artist).patch(f"{BASE}{stream.pk}/", {"chat_mode": "followers"}, format="json")
    assert [e for _, e in published_events if e["type"] == "stream:settings"][0]["chat_mode"] == "followers"


# --- query counts ---------------------------------------------------------------------------

def _count_queries(client, url):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx.captured_queries)


@pytest.mark.parametrize("url", [BASE, f"{BASE}?active=true", f"{BASE}?upcoming=true", f"{BASE}?artist=artist"])
def test_list_query_count_does_not_grow(client_for, artist, url):
    client = client_for(artist)
    StreamFactory(artist=artist)
    LiveStreamFactory(artist=artist)
    few = _count_queries(client, url)
    StreamFactory.create_batch(25, artist=artist)
    LiveStreamFactory.create_batch(25, artist=artist)
    assert _count_queries(client, url) == few


def test_status_endpoint_costs_at_most_two_queries(client_for, artist, django_assert_max_num_queries):
    stream = LiveStreamFactory(artist=artist)
    StreamFactory.create_batch(50)
    for client in (client_for(None), client_for(artist)):
        with django_assert_max_num_queries(2):
            assert client.get(f"{BASE}{stream.pk}/status/").status_code == 200


def test_openapi_schema_and_docs_are_served(api):
    schema = api.get("/api/schema/")
    assert schema.status_code == 200 and b"/api/v1/livestreams/{stream_id}/status/" in schema.content
    docs = api.get("/api/docs/")
    assert docs.status_code == 200 and b"swagger-ui" in docs.content
    assert b"cdn" not in docs.content.lower()
