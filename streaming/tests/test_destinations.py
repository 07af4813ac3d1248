"""Simulcast destinations: the studio pages, the API, picking destinations per stream, and the
control room's relay panel. The saved key must never come back in any response."""

import asyncio
import os
import threading

import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone

from accounts.tests.factories import ArtistFactory, UserFactory, client_as
from livestreams.models import Stream
from livestreams.tests.factories import LiveStreamFactory, StreamFactory
from streaming.models import Relay, RestreamDestination

pytestmark = pytest.mark.django_db

KEY = "live-sk-0123456789abcdefSECRET"  # long enough that masked_key (last 4) cannot leak it
NEW_KEY = "rotated-key-9876543210zyxwNEW"


def destination(artist, name="YouTube", key=KEY, **kwargs) -> RestreamDestination:
    return RestreamDestination.objects.create(artist=artist, name=name, rtmp_url="rtmp://a.rtmp.youtube.com/live2",
                                              stream_key=key, **kwargs)


def assert_no_key(response, *keys):
    for key in keys or (KEY,):
        assert key.encode() not in response.content


@pytest.fixture
def other_artist(db):
    return ArtistFactory(username="other")


# --- the destinations page: who may open it ----------------------------------------------------

def test_page_permission_matrix(artist, fan, other_artist):
    mine, theirs = destination(artist, "Mine"), destination(other_artist, "Theirs", key="their-key-000011112222")

    anonymous = Client().get("/studio/destinations/")
    assert anonymous.status_code == 302 and "/accounts/login/" in anonymous["Location"]

    refused = client_as(fan).get("/studio/destinations/")
    assert refused.status_code == 403
    assert b"Simulcast destinations are for artists" in refused.content

    page = client_as(artist).get("/studio/destinations/")
    assert page.status_code == 200
    body = page.content.decode()
    assert "Mine" in body and mine.masked_key in body and "Theirs" not in body
    assert_no_key(page, KEY, "their-key-000011112222")
    # Another artist's destination is unknown to me, whatever the action.
    for url in (f"/studio/destinations/{theirs.pk}/", f"/studio/destinations/{theirs.pk}/delete/"):
        assert client_as(artist).get(url).status_code == 404
    assert client_as(artist).post(f"/studio/destinations/{theirs.pk}/delete/").status_code == 404
    assert client_as(artist).post(f"/studio/destinations/{theirs.pk}/toggle/", {"enabled": "0"}).status_code == 404
    theirs.refresh_from_db()
    assert theirs.enabled and RestreamDestination.objects.filter(pk=theirs.pk).exists()


def test_studio_dashboard_links_to_destinations(artist):
    assert b'href="/studio/destinations/"' in client_as(artist).get("/studio/").content


# --- add, edit, enable/disable, delete through the page ----------------------------------------

def test_add_destination(artist):
    response = client_as(artist).post("/studio/destinations/", {
        "name": "Twitch", "rtmp_url": "rtmps://live.twitch.tv/app", "stream_key": KEY, "enabled": "on"})
    assert response.status_code == 302
    saved = RestreamDestination.objects.get(artist=artist)
    assert (saved.name, saved.rtmp_url, saved.stream_key, saved.enabled) == ("Twitch", "rtmps://live.twitch.tv/app", KEY, True)
    page = client_as(artist).get("/studio/destinations/")
    assert saved.masked_key in page.content.decode()
    assert_no_key(page)


@pytest.mark.parametrize("data, field, reason", [
    ({"rtmp_url": "https://a.rtmp.youtube.com/live2"}, "rtmp_url", "rtmp:// or rtmps://"),
    ({"rtmp_url": "rtmp:///live2"}, "rtmp_url", "server name"),
    ({"rtmp_url": "youtube"}, "rtmp_url", "rtmp:// or rtmps://"),
    ({"stream_key": ""}, "stream_key", "This field is required"),
    ({"name": ""}, "name", "This field is required"),
    ({"name": "youtube"}, "name", "already have a destination with this name"),  # names are unique per artist, any case
])
def test_add_destination_refuses_bad_input(artist, data, field, reason):
    destination(artist, "YouTube")
    form = {"name": "Twitch", "rtmp_url": "rtmp://live.twitch.tv/app", "stream_key": NEW_KEY, "enabled": "on", **data}
    response = client_as(artist).post("/studio/destinations/", form)
    assert response.status_code == 400
    assert reason in response.content.decode()
    assert RestreamDestination.objects.count() == 1
    assert_no_key(response, KEY, NEW_KEY)  # not even the key just typed is echoed back


def test_same_name_is_fine_for_another_artist(artist, other_artist):
    destination(other_artist, "YouTube")
    response = client_as(artist).post("/studio/destinations/", {
        "name": "YouTube", "rtmp_url": "rtmp://a.rtmp.youtube.com/live2", "stream_key": KEY})
    assert response.status_code == 302
    assert RestreamDestination.objects.filter(name="YouTube").count() == 2


def test_edit_keeps_key_when_blank_and_never_renders_it(artist):
    saved = destination(artist)
    client = client_as(artist)
    form_page = client.get(f"/studio/destinations/{saved.pk}/")
    assert form_page.status_code == 200
    assert saved.masked_key in form_page.content.decode()
    assert_no_key(form_page)

    response = client.post(f"/studio/destinations/{saved.pk}/", {
        "name": "YouTube main", "rtmp_url": "rtmps://a.rtmps.youtube.com/live2", "stream_key": "", "enabled": "on"})
    assert response.status_code == 302
    saved.refresh_from_db()
    assert (saved.name, saved.rtmp_url, saved.stream_key) == ("YouTube main", "rtmps://a.rtmps.youtube.com/live2", KEY)

    client.post(f"/studio/destinations/{saved.pk}/", {
        "name": "YouTube main", "rtmp_url": "rtmps://a.rtmps.youtube.com/live2", "stream_key": NEW_KEY})
    saved.refresh_from_db()
    assert saved.stream_key == NEW_KEY and not saved.enabled


def test_edit_refuses_bad_input(artist):
    saved, _ = destination(artist), destination(artist, "Twitch", key="twitch-key-44445555")
    for data, reason in (({"rtmp_url": "http://example.com/live"}, "rtmp:// or rtmps://"),
                         ({"name": "Twitch"}, "already have a destination with this name")):
        form = {"name": "YouTube", "rtmp_url": "rtmp://a.rtmp.youtube.com/live2", "stream_key": NEW_KEY,
                "enabled": "on", **data}
        response = client_as(artist).post(f"/studio/destinations/{saved.pk}/", form)
        assert response.status_code == 400
        assert reason in response.content.decode()
        assert_no_key(response, KEY, NEW_KEY, "twitch-key-44445555")
    saved.refresh_from_db()
    assert (saved.name, saved.rtmp_url, saved.stream_key) == ("YouTube", "rtmp://a.rtmp.youtube.com/live2", KEY)


def test_toggle_and_delete_with_confirmation(artist):
    saved = destination(artist)
    client = client_as(artist)
    assert client.post(f"/studio/destinations/{saved.pk}/toggle/", {"enabled": "0"}).status_code == 302
    saved.refresh_from_db()
    assert not saved.enabled
    client.post(f"/studio/destinations/{saved.pk}/toggle/", {"enabled": "1"})
    saved.refresh_from_db()
    assert saved.enabled

    confirm = client.get(f"/studio/destinations/{saved.pk}/delete/")
    assert confirm.status_code == 200 and "cannot be undone" in confirm.content.decode()
    assert RestreamDestination.objects.filter(pk=saved.pk).exists()  # GET only asks
    assert client.post(f"/studio/destinations/{saved.pk}/delete/").status_code == 302
    assert not RestreamDestination.objects.filter(pk=saved.pk).exists()


def test_delete_refused_while_simulcasting(artist):
    saved = destination(artist)
    stream = LiveStreamFactory(artist=artist)
    Relay.objects.create(stream=stream, kind=Relay.Kind.RESTREAM, destination=saved, state=Relay.State.RUNNING)
    response = client_as(artist).post(f"/studio/destinations/{saved.pk}/delete/", follow=True)
    assert "Disable it first" in response.content.decode()
    assert RestreamDestination.objects.filter(pk=saved.pk).exists()


def test_delete_removes_finished_relay_rows(artist):
    one, two = destination(artist, "One"), destination(artist, "Two", key="two-key-1234567890")
    stream = LiveStreamFactory(artist=artist)
    for d in (one, two):
        Relay.objects.create(stream=stream, kind=Relay.Kind.RESTREAM, destination=d, state=Relay.State.FAILED)
    for d in (one, two):  # with SET_NULL the second would collide with the first on (stream, kind)
        assert client_as(artist).post(f"/studio/destinations/{d.pk}/delete/").status_code == 302
    assert not RestreamDestination.objects.exists() and not Relay.objects.exists()


def test_forms_require_csrf(artist):
    saved = destination(artist)
    client = client_as(artist, csrf=True)
    assert client.post("/studio/destinations/", {"name": "X", "rtmp_url": "rtmp://x.test/app",
                                                  "stream_key": NEW_KEY}).status_code == 403
    assert client.post(f"/studio/destinations/{saved.pk}/delete/").status_code == 403
    assert RestreamDestination.objects.count() == 1
    assert b"csrfmiddlewaretoken" in client.get("/studio/destinations/").content


# --- the API -----------------------------------------------------------------------------------

def test_api_crud_never_returns_the_key(api, artist):
    api.force_authenticate(artist)
    created = api.post("/api/v1/restream-destinations/", {
        "name": "YouTube", "rtmp_url": "rtmp://a.rtmp.youtube.com/live2", "stream_key": KEY}, format="json")
    assert created.status_code == 201
    assert_no_key(created)
    assert created.json()["masked_key"].endswith(KEY[-4:]) and "stream_key" not in created.json()
    pk = created.json()["id"]

    listed = api.get("/api/v1/restream-destinations/")
    assert [d["name"] for d in listed.json()["destinations"]] == ["YouTube"]
    assert_no_key(listed)

    patched = api.patch(f"/api/v1/restream-destinations/{pk}/", {"enabled": False, "stream_key": ""}, format="json")
    assert patched.status_code == 200 and patched.json()["enabled"] is False
    assert RestreamDestination.objects.get(pk=pk).stream_key == KEY
    patched = api.patch(f"/api/v1/restream-destinations/{pk}/", {"stream_key": NEW_KEY}, format="json")
    assert_no_key(patched, KEY, NEW_KEY)
    assert RestreamDestination.objects.get(pk=pk).stream_key == NEW_KEY

    assert api.delete(f"/api/v1/restream-destinations/{pk}/").status_code == 204
    assert not RestreamDestination.objects.exists()


@pytest.mark.parametrize("body, reason", [
    ({"name": "T", "rtmp_url": "http://live.twitch.tv/app", "stream_key": NEW_KEY}, "rtmp:// or rtmps://"),
    ({"name": "T", "rtmp_url": "rtmp://live.twitch.tv/app"}, "stream_key"),
    ({"name": "T", "rtmp_url": "rtmp://live.twitch.tv/app", "stream_key": "   "}, "stream_key"),
    ({"name": "YOUTUBE", "rtmp_url": "rtmp://live.twitch.tv/app", "stream_key": NEW_KEY}, "already have"),
    ({"name": "T", "rtmp_url": "rtmp://live.twitch.tv/app", "stream_key": "a key with spaces"}, "spaces"),
])
def test_api_create_refuses_bad_input(api, artist, body, reason):
    destination(artist)
    api.force_authenticate(artist)
    response = api.post("/api/v1/restream-destinations/", body, format="json")
    assert response.status_code == 400
    assert reason in response.content.decode()
    assert RestreamDestination.objects.count() == 1
    assert_no_key(response, KEY, NEW_KEY)


def test_api_permissions(api, artist, fan, other_artist):
    theirs = destination(other_artist)
    assert api.get("/api/v1/restream-destinations/").status_code in (401, 403)
    api.force_authenticate(fan)
    assert api.get("/api/v1/restream-destinations/").status_code == 403
    assert api.post("/api/v1/restream-destinations/", {"name": "T", "rtmp_url": "rtmp://x.test/app",
                                                       "stream_key": NEW_KEY}, format="json").status_code == 403
    api.force_authenticate(artist)
    assert api.get("/api/v1/restream-destinations/").json() == {"destinations": []}
    assert api.patch(f"/api/v1/restream-destinations/{theirs.pk}/", {"enabled": False}, format="json").status_code == 404
    assert api.delete(f"/api/v1/restream-destinations/{theirs.pk}/").status_code == 404
    theirs.refresh_from_db()
    assert theirs.enabled
    assert RestreamDestination.objects.count() == 1


# --- picking destinations per stream -----------------------------------------------------------

def test_pick_destinations_with_the_form(artist, other_artist):
    stream = StreamFactory(artist=artist)
    youtube, twitch = destination(artist), destination(artist, "Twitch", key="twitch-key-44445555")
    foreign = destination(other_artist, "Foreign", key="foreign-key-77778888")
    url = f"/studio/livestreams/{stream.pk}/destinations/"
    client = client_as(artist)

    page = client.get(url)
    assert page.status_code == 200 and "Twitch" in page.content.decode() and "Foreign" not in page.content.decode()
    assert_no_key(page, KEY, "twitch-key-44445555")

    response = client.post(url, {"destinations": [youtube.pk, twitch.pk]})
    assert response.status_code == 302 and response["Location"] == f"/studio/livestreams/{stream.pk}/"
    assert set(stream.restream_destinations.all()) == {youtube, twitch}

    refused = client.post(url, {"destinations": [youtube.pk, foreign.pk]})
    assert refused.status_code == 400
    assert set(stream.restream_destinations.all()) == {youtube, twitch}

    client.post(url, {})  # nothing ticked: simulcast off
    assert not stream.restream_destinations.exists()


def test_pick_destinations_refusals(artist, fan, other_artist):
    stream = StreamFactory(artist=artist)
    mine = destination(artist)
    url = f"/studio/livestreams/{stream.pk}/destinations/"
    assert client_as(fan).post(url, {"destinations": [mine.pk]}).status_code == 403
    assert client_as(other_artist).post(url, {"destinations": [mine.pk]}).status_code == 403
    assert client_as(artist, csrf=True).post(url, {"destinations": [mine.pk]}).status_code == 403
    assert not stream.restream_destinations.exists()

    ended = LiveStreamFactory(artist=artist, status=Stream.Status.ENDED, ended_at=timezone.now())
    response = client_as(artist).post(f"/studio/livestreams/{ended.pk}/destinations/", {"destinations": [mine.pk]})
    assert response.status_code == 400 and "cannot simulcast" in response.content.decode()
    assert not ended.restream_destinations.exists()


def test_staff_picks_among_the_artists_destinations(artist):
    staff = UserFactory(username="staffer", is_staff=True)
    stream = StreamFactory(artist=artist)
    mine = destination(artist)
    response = client_as(staff).post(f"/studio/livestreams/{stream.pk}/destinations/", {"destinations": [mine.pk]})
    assert response.status_code == 302
    assert list(stream.restream_destinations.all()) == [mine]


def test_pick_destinations_with_the_api(api, artist, fan, other_artist):
    stream = LiveStreamFactory(artist=artist)
    youtube, twitch = destination(artist), destination(artist, "Twitch", key="twitch-key-44445555")
    foreign = destination(other_artist, "Foreign", key="foreign-key-77778888")
    url = f"/api/v1/livestreams/{stream.pk}/destinations/"

    api.force_authenticate(fan)
    assert api.get(url).status_code == 403
    assert api.put(url, {"destination_ids": [youtube.pk]}, format="json").status_code == 403

    api.force_authenticate(artist)
    got = api.get(url)
    assert got.status_code == 200 and got.json()["destination_ids"] == []
    assert [d["name"] for d in got.json()["destinations"]] == ["Twitch", "YouTube"]
    assert_no_key(got, KEY, "twitch-key-44445555")

    put = api.put(url, {"destination_ids": [twitch.pk, youtube.pk]}, format="json")
    assert put.status_code == 200 and sorted(put.json()["destination_ids"]) == sorted([twitch.pk, youtube.pk])
    assert_no_key(put, KEY, "twitch-key-44445555")

    for body in ({"destination_ids": [youtube.pk, foreign.pk]}, {"destination_ids": ["x"]},
                 {"destination_ids": youtube.pk}, {}, {"destination_ids": [987654]}):
        response = api.put(url, body, format="json")
        assert response.status_code == 400, body
        assert response.json()
    assert set(stream.restream_destinations.all()) == {youtube, twitch}
    assert not foreign.streams.exists()


# --- the control room's relay panel ------------------------------------------------------------

def test_control_room_includes_relay_panel(artist):
    stream = LiveStreamFactory(artist=artist)
    body = client_as(artist).get(f"/studio/livestreams/{stream.pk}/").content.decode()
    assert "data-relays" in body and f'data-stream-id="{stream.pk}"' in body
    assert f'action="/studio/livestreams/{stream.pk}/destinations/"' in body
    assert "js/studio/relays.js" in body


def test_relay_api_names_the_destination(api, artist, django_assert_max_num_queries):
    stream = LiveStreamFactory(artist=artist)
    youtube, twitch = destination(artist), destination(artist, "Twitch", key="twitch-key-44445555")
    Relay.objects.create(stream=stream, kind=Relay.Kind.RECORD, state=Relay.State.RUNNING)
    for d in (youtube, twitch):
        Relay.objects.create(stream=stream, kind=Relay.Kind.RESTREAM, destination=d, state=Relay.State.FAILED,
                             failure_reason="Connection refused")
    api.force_authenticate(artist)
    with django_assert_max_num_queries(8):  # not one per relay
        response = api.get(f"/api/v1/livestreams/{stream.pk}/relays/")
    relays = response.json()["relays"]
    assert {(r["kind"], r["destination_name"]) for r in relays} == {
        ("record", None), ("restream", "YouTube"), ("restream", "Twitch")}
    assert all(isinstance(r["id"], int) for r in relays)
    assert_no_key(response, KEY, "twitch-key-44445555")


def test_out_of_range_ids_are_refused_not_500(api, artist):
    stream = StreamFactory(artist=artist)
    mine = destination(artist)
    huge = 2**70
    client = client_as(artist)
    assert client.get(f"/studio/destinations/{huge}/").status_code == 404
    assert client.post(f"/studio/destinations/{huge}/toggle/", {"enabled": "0"}).status_code == 404
    assert client.post(f"/studio/livestreams/{stream.pk}/destinations/",
                       {"destinations": [mine.pk, huge]}).status_code == 400
    api.force_authenticate(artist)
    assert api.patch(f"/api/v1/restream-destinations/{huge}/", {"enabled": False}, format="json").status_code == 404
    assert api.put(f"/api/v1/livestreams/{stream.pk}/destinations/", {"destination_ids": [huge]},
                   format="json").status_code == 400
    assert not stream.restream_destinations.exists()
    mine.refresh_from_db()
    assert mine.enabled


# --- the relay panel in a real browser ---------------------------------------------------------

def _send_to_daphne(redis_url: str, group: str, event: dict) -> None:
    """What livestreams.realtime.publish does in the supervisor's process, from outside Daphne.
    (A thread: Playwright's sync API runs an event loop in this one.)"""
    from channels_redis.pubsub import RedisPubSubChannelLayer

    layer = RedisPubSubChannelLayer(hosts=[redis_url])
    message = {"type": "stream.event", "group": group, "event": event}
    thread = threading.Thread(target=lambda: asyncio.run(layer.group_send(group, message)))
    thread.start()
    thread.join()


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_relay_panel_in_a_browser(redis_server, tmp_path):
    from playwright.sync_api import expect, sync_playwright

    from livestreams.tests.browser_stack import (
        BackendStack, database_url_for, launch_chromium, login, set_portable_password,
    )

    artist = ArtistFactory(username="panelartist")
    stream = LiveStreamFactory(artist=artist)
    youtube, twitch = destination(artist), destination(artist, "Twitch", key="twitch-key-44445555")
    Relay.objects.create(stream=stream, kind=Relay.Kind.RECORD, state=Relay.State.RUNNING,
                         last_progress={"fps": 30.0, "bitrate_kbps": 2500.5, "speed": 1.0, "frame": 1234})
    simulcast = Relay.objects.create(stream=stream, kind=Relay.Kind.RESTREAM, destination=youtube,
                                     state=Relay.State.STARTING)
    set_portable_password(artist, "a-long-test-password")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"  # ORM calls between Playwright's sync steps
    try:
        with BackendStack(database_url=database_url_for(connection), redis_url=redis_server, log_dir=tmp_path) as stack, \
                sync_playwright() as playwright:
            browser = launch_chromium(playwright)
            context = browser.new_context(base_url=stack.url)
            login(context, stack.url, artist.username, "a-long-test-password")
            page = context.new_page()
            errors = []
            page.on("pageerror", lambda error: errors.append(str(error)))
            page.goto(f"/studio/livestreams/{stream.pk}/")

            expect(page.locator(".relay-row")).to_have_count(2, timeout=15000)  # from the relays API
            expect(page.locator(".relay-record")).to_contain_text("30 fps · 2501 kbps")
            expect(page.locator(".relay-restream")).to_contain_text("connecting")
            expect(page.locator(".relay-restream")).to_contain_text("Simulcast: YouTube")
            expect(page.locator("[data-conn]")).to_have_text("live", timeout=15000)

            _send_to_daphne(redis_server, f"stream-{stream.pk}.staff", {
                "type": "stream:relay-update", "stream_id": str(stream.pk), "relay": {
                    "id": simulcast.pk, "kind": "restream", "state": "failed", "restarts": 3, "progress": {},
                    "failure_reason": "Connection refused", "destination_id": youtube.pk,
                    "destination_name": "YouTube", "started_at": None}})
            expect(page.locator(".relay-restream")).to_contain_text("failed", timeout=10000)
            expect(page.locator(".relay-restream")).to_contain_text("Connection refused")
            expect(page.locator(".relay-restream")).to_contain_text("3 restarts")
            expect(page.locator(".relay-record")).to_contain_text("running")  # the failure stays in its row

            page.check(f"[data-destinations-form] input[value='{twitch.pk}']")
            page.click("[data-destinations-form] button[type=submit]")
            expect(page.locator(".toast")).to_contain_text("Simulcast saved")
            assert list(stream.restream_destinations.all()) == [twitch]

            page.goto("/studio/destinations/")
            assert KEY not in page.content() and "twitch-key-44445555" not in page.content()
            assert not errors, errors
            browser.close()
    finally:
        os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
