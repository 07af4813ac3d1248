"""HTML pages: status codes, the permission matrix, secrets, CSRF, query counts."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import Follow
from accounts.tests.factories import ArtistFactory, UserFactory, client_as
from livestreams.models import Stream
from livestreams.tests.factories import LiveStreamFactory, StreamFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def streams(artist):
    live = LiveStreamFactory(artist=artist, title="Basement session", viewer_count=42)
    upcoming = StreamFactory(artist=artist, title="Sunday acoustic")
    ended = LiveStreamFactory(artist=artist, title="Friday set", status=Stream.Status.ENDED,
                              ended_at=timezone.now(), publisher_active=False)
    return {"live": live, "upcoming": upcoming, "ended": ended}


# --- fans' pages -----------------------------------------------------------------------------

def test_home_lists_live_upcoming_and_recent(client, streams):
    response = client.get("/")
    assert response.status_code == 200
    body = response.content.decode()
    assert "Basement session" in body and "Sunday acoustic" in body and "Friday set" in body
    assert "LIVE" in body and "42" in body and "data-countdown" in body
    assert "<title>" in body


def test_home_hides_unlisted_streams(client, artist):
    LiveStreamFactory(artist=artist, title="Secret rehearsal", visibility=Stream.Visibility.UNLISTED)
    assert "Secret rehearsal" not in client.get("/").content.decode()


def test_browse_searches_titles_and_artists(client, streams, other_artist):
    StreamFactory(artist=other_artist, title="Jazz night")
    body = client.get("/livestreams/?q=jazz").content.decode()
    assert "Jazz night" in body and "Basement session" not in body
    body = client.get("/livestreams/?q=artist").content.decode()  # the artist's display name
    assert "Basement session" in body and "Jazz night" not in body
    body = client.get("/livestreams/?status=live").content.decode()
    assert "Basement session" in body and "Sunday acoustic" not in body
    assert client.get("/livestreams/?status=bogus").status_code == 200


def test_watch_page_for_anonymous_fan(client, streams):
    stream = streams["live"]
    response = client.get(f"/livestreams/{stream.pk}/")
    assert response.status_code == 200
    body = response.content.decode()
    assert 'property="og:title"' in body and 'property="og:url"' in body and "og:type" in body
    assert 'id="watch-config"' in body and "hls.min.js" in body
    assert "Log in</a> or" in body  # invited to take part
    assert stream.hls_url in body  # playback URL is public


def test_watch_page_before_start_shows_schedule(client, streams):
    body = client.get(f"/livestreams/{streams['upcoming'].pk}/").content.decode()
    assert "Starting soon" in body and "data-countdown" in body


def test_watch_page_404s(client, artist):
    assert client.get("/livestreams/00000000-0000-0000-0000-000000000000/").status_code == 404
    cancelled = StreamFactory(artist=artist, status=Stream.Status.CANCELLED)
    assert client.get(f"/livestreams/{cancelled.pk}/").status_code == 404
    assert client_as(artist).get(f"/livestreams/{cancelled.pk}/").status_code == 200


def test_channel_page_and_follow(streams, artist, fan):
    anonymous = Client()
    response = anonymous.get("/@artist/")
    assert response.status_code == 200 and "Basement session" in response.content.decode()
    assert anonymous.post("/@artist/", {"action": "follow"}).status_code == 302
    assert not Follow.objects.exists()  # anonymous: sent to log in

    client = client_as(fan)
    assert client.post("/@artist/", {"action": "follow"}).status_code == 302
    assert Follow.objects.filter(follower=fan, channel=artist.channel).exists()
    assert "Following" in client.get("/@artist/").content.decode()
    client.post("/@artist/", {"action": "unfollow", "next": f"/livestreams/{streams['live'].pk}/"})
    assert not Follow.objects.exists()
    assert Client().get("/@nobody/").status_code == 404


def test_follow_next_must_be_local(fan, artist):
    response = client_as(fan).post("/@artist/", {"action": "follow", "next": "https://evil.example/"})
    assert response["Location"] == "/@artist/"


# --- studio ----------------------------------------------------------------------------------

def test_studio_permission_matrix(streams, artist, other_artist, fan, staff):
    stream = streams["live"]
    room = f"/studio/livestreams/{stream.pk}/"
    anonymous = Client()
    assert anonymous.get("/studio/").status_code == 302
    assert anonymous.get(room).status_code == 302
    assert client_as(fan).get("/studio/").status_code == 403
    assert "Become an artist" in client_as(fan).get("/studio/").content.decode()
    assert client_as(fan).get(room).status_code == 403
    assert client_as(other_artist).get(room).status_code == 403
    assert client_as(other_artist).post(room, {"action": "end"}).status_code == 403
    assert client_as(artist).get("/studio/").status_code == 200
    assert client_as(artist).get(room).status_code == 200
    assert client_as(staff).get(room).status_code == 200
    stream.refresh_from_db()
    assert stream.status == Stream.Status.LIVE
    assert client_as(artist).get("/studio/livestreams/00000000-0000-0000-0000-000000000000/").status_code == 404


def test_stream_key_never_in_a_page_a_fan_can_load(streams, artist, fan):
    keys = [s.stream_key for s in streams.values()]
    pages = ["/", "/livestreams/", "/livestreams/?status=upcoming", "/@artist/", "/studio/"]
    pages += [f"/livestreams/{s.pk}/" for s in streams.values()]
    pages += [f"/studio/livestreams/{s.pk}/" for s in streams.values()]
    for client in (Client(), client_as(fan)):
        for page in pages:
            body = client.get(page, follow=True).content.decode()
            assert not any(key in body for key in keys), page
    # The owner does see it, server-rendered (works without JavaScript).
    body = client_as(artist).get(f"/studio/livestreams/{streams['live'].pk}/").content.decode()
    assert streams["live"].obs_stream_key in body and streams["live"].rtmp_url in body
    # ...and never on the public watch page, even as the owner.
    body = client_as(artist).get(f"/livestreams/{streams['live'].pk}/").content.decode()
    assert streams["live"].stream_key not in body


def test_new_stream_form_creates_a_stream(artist):
    client = client_as(artist)
    when = (timezone.now() + timedelta(days=2)).replace(second=0, microsecond=0)
    response = client.post("/studio/", {
        "title": "  Album launch  ", "description": "Songs.", "scheduled_at": when.strftime("%Y-%m-%dT%H:%M"),
        "tz_offset": "-120", "visibility": "unlisted", "chat_enabled": "on", "chat_mode": "followers",
        "quality_preset": "720p", "record": "on",
    })
    assert response.status_code == 302
    stream = Stream.objects.get()
    assert response["Location"] == f"/studio/livestreams/{stream.pk}/"
    assert stream.title == "Album launch" and stream.artist == artist
    assert stream.scheduled_at == when - timedelta(minutes=120)  # 2 h east of UTC
    assert (stream.visibility, stream.chat_mode, stream.quality_preset) == ("unlisted", "followers", "720p")
    assert stream.chat_enabled and not stream.reactions_enabled and stream.record


def test_new_stream_form_errors(artist, fan):
    response = client_as(artist).post("/studio/", {"title": " ", "visibility": "public", "chat_mode": "open",
                                                   "quality_preset": "source",
                                                   "scheduled_at": "2001-01-01T10:00"})
    assert response.status_code == 400
    body = response.content.decode()
    assert "This field is required" in body or "cannot be blank" in body
    assert "Pick a time in the future" in body
    assert not Stream.objects.exists()
    assert client_as(fan).post("/studio/", {"title": "x"}).status_code == 403
    assert not Stream.objects.exists()


def test_control_room_actions(artist, published_events, django_capture_on_commit_callbacks):
    stream = StreamFactory(artist=artist)
    client = client_as(artist)
    room = f"/studio/livestreams/{stream.pk}/"
    old_key = stream.stream_key
    assert client.post(room, {"action": "rotate-key"}).status_code == 302
    stream.refresh_from_db()
    assert stream.stream_key != old_key
    client.post(room, {"action": "start"})
    stream.refresh_from_db()
    assert stream.status == Stream.Status.PREPARING
    response = client.post(room, {"action": "end"}, follow=True)  # preparing cannot end
    assert "cannot become ended" in response.content.decode()
    Stream.objects.filter(pk=stream.pk).update(status=Stream.Status.LIVE, started_at=timezone.now())
    with django_capture_on_commit_callbacks(execute=True):
        client.post(room, {"action": "end"})
    stream.refresh_from_db()
    assert stream.status == Stream.Status.ENDED
    assert any(event["type"] == "stream:end" for _, event in published_events)


def test_control_room_settings_form(artist, published_events, django_capture_on_commit_callbacks):
    stream = LiveStreamFactory(artist=artist)
    with django_capture_on_commit_callbacks(execute=True):
        client_as(artist).post(f"/studio/livestreams/{stream.pk}/", {"action": "settings", "chat_mode": "off"})
    stream.refresh_from_db()
    assert stream.chat_mode == "off" and not stream.chat_enabled and not stream.reactions_enabled
    assert any(event["type"] == "stream:settings" for _, event in published_events)


def test_csrf_enforced_on_every_form(artist, fan):
    stream = LiveStreamFactory(artist=artist)
    owner = client_as(artist, csrf=True)
    assert owner.post("/studio/", {"title": "x"}).status_code == 403
    assert owner.post(f"/studio/livestreams/{stream.pk}/", {"action": "end"}).status_code == 403
    assert client_as(fan, csrf=True).post("/@artist/", {"action": "follow"}).status_code == 403
    stream.refresh_from_db()
    assert stream.status == Stream.Status.LIVE and not Stream.objects.exclude(pk=stream.pk).exists()
    assert not Follow.objects.exists()
    # Every form on the pages carries the token.
    for page in ("/studio/", f"/studio/livestreams/{stream.pk}/"):
        body = owner.get(page).content.decode()
        assert body.count('method="post"') == body.count("csrfmiddlewaretoken")


# --- query counts ----------------------------------------------------------------------------

def _count(client, url) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


def _make_streams(artist, n):
    for i in range(n):
        other = ArtistFactory()
        LiveStreamFactory(artist=other)
        StreamFactory(artist=other)
        StreamFactory(artist=artist)
        LiveStreamFactory(artist=artist, status=Stream.Status.ENDED, ended_at=timezone.now())
    UserFactory()


@pytest.mark.parametrize("who", ["anonymous", "fan", "artist"])
def test_query_counts_do_not_grow_with_streams(artist, fan, who):
    user = {"anonymous": None, "fan": fan, "artist": artist}[who]
    client = client_as(user)
    watched = LiveStreamFactory(artist=artist)
    pages = ["/", "/livestreams/", "/livestreams/?q=e", "/@artist/", f"/livestreams/{watched.pk}/"]
    if who == "artist":
        pages += ["/studio/", f"/studio/livestreams/{watched.pk}/"]
    _make_streams(artist, 1)
    before = {page: _count(client, page) for page in pages}
    _make_streams(artist, 29)
    after = {page: _count(client, page) for page in pages}
    assert after == before
    assert max(after.values()) <= 12, after


def test_new_stream_form_takes_a_thumbnail(artist, settings, tmp_path):
    import io

    from django.core.files.uploadedfile import SimpleUploadedFile
    from PIL import Image

    settings.MEDIA_ROOT = tmp_path
    buffer = io.BytesIO()
    Image.new("RGB", (32, 18), "purple").save(buffer, "PNG")
    upload = SimpleUploadedFile("cover.png", buffer.getvalue(), content_type="image/png")
    response = client_as(artist).post("/studio/", {
        "title": "With a cover", "visibility": "public", "chat_enabled": "on", "chat_mode": "open",
        "quality_preset": "source", "thumbnail": upload})
    assert response.status_code == 302
    stream = Stream.objects.get()
    assert stream.thumbnail.name.startswith("thumbnails/")
    body = Client().get("/").content.decode()
    assert stream.thumbnail.url in body  # the card shows it
    assert f'property="og:image" content="http://testserver{stream.thumbnail.url}"' in Client().get(
        f"/livestreams/{stream.pk}/").content.decode()


def test_control_room_edits_details_and_refuses_bad_input(client, artist):
    from livestreams.models import Stream
    from livestreams.tests.factories import StreamFactory

    stream = StreamFactory(artist=artist, title="Old", record=False)
    client.force_login(artist)
    url = f"/studio/livestreams/{stream.pk}/"
    page = client.get(url).content.decode()
    assert "Edit details" in page and 'value="Old"' in page
    base = {"action": "details", "title": "New title", "description": "Set list inside",
            "scheduled_at": stream.scheduled_at.strftime("%Y-%m-%dT%H:%M"), "visibility": "unlisted",
            "quality_preset": "720p", "record": "on"}
    assert client.post(url, base).status_code == 302
    stream.refresh_from_db()
    assert (stream.title, stream.visibility, stream.quality_preset, stream.record) == ("New title", "unlisted",
                                                                                       "720p", True)
    before = Stream.objects.filter(pk=stream.pk).values().get()
    bad = client.post(url, {**base, "title": " ", "scheduled_at": "2001-01-01T00:00"})
    assert bad.status_code == 200 and "This field is required." in bad.content.decode()
    assert "Pick a time in the future." in bad.content.decode()
    assert Stream.objects.filter(pk=stream.pk).values().get() == before
