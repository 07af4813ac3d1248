"""Replay pages: the watch page of an archived stream plays the replay (no live chat input), the
control room's replay panel and its POST forms, query counts."""

from datetime import timedelta

import pytest
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.tests.factories import client_as
from livestreams.models import ChatMessage, Replay, Stream
from livestreams.tests.factories import StreamFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def archived(artist, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    started = timezone.now() - timedelta(hours=2)
    stream = StreamFactory(artist=artist, title="Friday set", status=Stream.Status.ARCHIVED, record=True,
                           started_at=started, ended_at=started + timedelta(hours=1), archived_at=timezone.now())
    folder = tmp_path / "media" / "replays" / str(stream.pk)
    folder.mkdir(parents=True)
    (folder / "replay.mp4").write_bytes(b"m" * 2048)
    Replay.objects.create(stream=stream, status=Replay.Status.READY, progress=1.0, ready_at=timezone.now(),
                          video_path=f"replays/{stream.pk}/replay.mp4", poster_path=f"replays/{stream.pk}/poster.jpg",
                          duration_seconds=3723.4, size_bytes=2048)
    return stream


def _mp4(stream) -> str:
    return f"{settings.MEDIA_PUBLIC_URL}replays/{stream.pk}/replay.mp4"


def test_the_watch_page_of_an_archived_stream_plays_the_replay_without_chat_input(archived, fan):
    for user in (None, fan):
        body = client_as(user).get(f"/livestreams/{archived.pk}/").content.decode()
        assert "data-replay" in body and f'src="{_mp4(archived)}"' in body
        assert "js/livestreams/chat_replay.js" in body and "js/livestreams/watch.js" not in body
        assert "data-chat-input" not in body and "data-chat-form" not in body
        assert "data-replay-chat" in body and f'"playback_url": "{_mp4(archived)}"' in body


def test_an_unpublished_replay_is_for_its_artist_only(archived, artist, fan):
    Replay.objects.filter(stream=archived).update(published=False)
    assert _mp4(archived) not in client_as(fan).get(f"/livestreams/{archived.pk}/").content.decode()
    assert _mp4(archived) in client_as(artist).get(f"/livestreams/{archived.pk}/").content.decode()


def test_while_processing_the_page_says_the_replay_is_being_prepared(artist, fan):
    stream = StreamFactory(artist=artist, status=Stream.Status.ENDED, record=True, ended_at=timezone.now())
    assert "The replay is being prepared" in client_as(fan).get(f"/livestreams/{stream.pk}/").content.decode()
    Replay.objects.create(stream=stream, progress=0.3)
    body = client_as(fan).get(f"/livestreams/{stream.pk}/").content.decode()
    assert "The replay is being prepared" in body and "chat_replay.js" not in body
    Replay.objects.filter(stream=stream).update(status=Replay.Status.FAILED)
    assert "The replay is being prepared" not in client_as(fan).get(f"/livestreams/{stream.pk}/").content.decode()


def test_the_control_room_shows_the_replay_panel_and_its_forms_work(archived, artist, fan, published_events,
                                                                   django_capture_on_commit_callbacks):
    room = f"/studio/livestreams/{archived.pk}/"
    owner = client_as(artist)
    body = owner.get(room).content.decode()
    assert "data-replay-panel" in body and "1:02:03" in body and "2.0\xa0KB" in body
    assert 'value="replay-unpublish"' in body and 'value="replay-delete"' in body
    assert "js/studio/replay.js" in body

    assert client_as(fan).post(room, {"action": "replay-unpublish"}).status_code == 403
    assert owner.post(room, {"action": "replay-unpublish"}).status_code == 302
    assert not Replay.objects.get(stream=archived).published
    assert 'value="replay-publish"' in owner.get(room).content.decode()
    owner.post(room, {"action": "replay-publish"})
    assert Replay.objects.get(stream=archived).published

    # Delete needs the confirmation (the JS dialog ticks it; without JS the artist does).
    response = owner.post(room, {"action": "replay-delete"}, follow=True)
    assert "Tick the box" in response.content.decode() and Replay.objects.filter(stream=archived).exists()
    folder = settings.MEDIA_ROOT / "replays" / str(archived.pk)
    with django_capture_on_commit_callbacks(execute=True):
        assert owner.post(room, {"action": "replay-delete", "confirm": "yes"}).status_code == 302
    assert not Replay.objects.filter(stream=archived).exists() and not folder.exists()
    archived.refresh_from_db()
    assert archived.status == Stream.Status.ARCHIVED
    assert "The replay was deleted" in owner.get(room).content.decode()


def test_the_control_room_shows_a_build_in_progress_and_a_failure(artist):
    stream = StreamFactory(artist=artist, status=Stream.Status.ENDED, record=True)
    replay = Replay.objects.create(stream=stream, progress=0.42)
    body = client_as(artist).get(f"/studio/livestreams/{stream.pk}/").content.decode()
    assert "data-replay-progress" in body and "42%" in body and 'value="replay-delete"' not in body
    Replay.objects.filter(pk=replay.pk).update(status=Replay.Status.FAILED, error="moov atom <not> found")
    body = client_as(artist).get(f"/studio/livestreams/{stream.pk}/").content.decode()
    assert "could not be built" in body and "moov atom &lt;not&gt; found" in body


def test_csrf_is_enforced_on_the_replay_forms(archived, artist):
    owner = client_as(artist, csrf=True)
    assert owner.post(f"/studio/livestreams/{archived.pk}/", {"action": "replay-unpublish"}).status_code == 403
    assert Replay.objects.get(stream=archived).published
    body = owner.get(f"/studio/livestreams/{archived.pk}/").content.decode()
    assert body.count('method="post"') == body.count("csrfmiddlewaretoken")


def _count(client, url) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


def test_query_counts_do_not_grow_with_chat_messages(archived, fan, artist):
    def add(n):
        start = ChatMessage.objects.count()
        ChatMessage.objects.bulk_create([ChatMessage(stream=archived, user=fan, text=f"m{i}", seq=start + i + 1)
                                         for i in range(n)])
    pages = [(client_as(fan), f"/livestreams/{archived.pk}/"),
             (client_as(artist), f"/studio/livestreams/{archived.pk}/"),
             (client_as(None), f"/api/v1/livestreams/{archived.pk}/replay/chat/")]
    add(2)
    before = [_count(client, url) for client, url in pages]
    add(30)
    assert [_count(client, url) for client, url in pages] == before


def test_the_stream_admin_shows_each_streams_disk_use(archived, staff):
    record = settings.MEDIA_ROOT / "relays" / str(archived.pk) / "record"
    record.mkdir(parents=True)
    (record / "rec_000000.ts").write_bytes(b"t" * 3072)  # + the 2048-byte replay: 5 KB
    client = client_as(staff)
    assert "5.0\xa0KB" in client.get("/admin/livestreams/stream/").content.decode()
    change = client.get(f"/admin/livestreams/stream/{archived.pk}/change/").content.decode()
    assert "Disk use" in change and "5.0\xa0KB" in change
