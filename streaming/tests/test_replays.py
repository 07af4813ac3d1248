"""Replays: a real recording (real nginx-rtmp, real record relay, a recorder killed mid-stream)
becomes a fast-start MP4 through the real FFmpeg; then the replay API and media cleanup."""

import json
import subprocess
import threading
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.utils import timezone

from livestreams.models import ChatMessage, Replay, Stream
from livestreams.tests.factories import StreamFactory
from streaming.models import Relay
from streaming.replays import media_cleanup, replays_sweep
from streaming.tests.test_relays import relays_env  # noqa: F401 (a fixture)
from streaming.tests.test_relays import _extinf_total, record_and_kill_the_recorder


def _probe(path: Path) -> dict:
    done = subprocess.run(["ffprobe", "-v", "error", "-show_entries", "format=duration:stream=codec_type",
                           "-of", "json", str(path)], capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def _top_level_boxes(path: Path) -> list[str]:
    boxes, data = [], path.read_bytes()
    offset = 0
    while offset + 8 <= len(data):
        size = int.from_bytes(data[offset:offset + 4], "big")
        kind = data[offset + 4:offset + 8].decode("latin-1")
        if size == 1:
            size = int.from_bytes(data[offset + 8:offset + 16], "big")
        boxes.append(kind)
        if size < 8:
            break
        offset += size
    return boxes


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_a_recording_with_a_killed_recorder_becomes_a_fast_start_replay(relays_env, encoder, published_events):
    run = record_and_kill_the_recorder(relays_env, encoder, before=2, in_all=5)
    stream = run.stream
    recorded, _ = _extinf_total(run.playlist)

    assert replays_sweep() == [str(stream.pk)]
    assert replays_sweep() == []  # built once

    replay = Replay.objects.get(stream=stream)
    stream.refresh_from_db()
    assert replay.status == Replay.Status.READY and replay.progress == 1.0 and replay.ready_at
    assert stream.status == Stream.Status.ARCHIVED and stream.archived_at
    # The replay's time 0 is the first recorded frame, stamped by the recorder: after the go-live
    # (the recorder starts on the supervisor's next pass), and well before the end.
    assert stream.started_at <= replay.recorded_from < stream.started_at + timedelta(seconds=10)
    media = Path(django_settings.MEDIA_ROOT)
    assert replay.video_path == f"replays/{stream.pk}/replay.mp4"
    assert replay.poster_path == f"replays/{stream.pk}/poster.jpg"
    video, poster = media / replay.video_path, media / replay.poster_path
    assert poster.stat().st_size > 0 and poster.read_bytes()[:2] == b"\xff\xd8"
    assert not list(video.parent.glob("*.part.*"))
    probe = _probe(video)
    assert {s["codec_type"] for s in probe["streams"]} == {"video", "audio"}
    assert abs(float(probe["format"]["duration"]) - recorded) < 2.5, (probe["format"], recorded)
    assert abs(replay.duration_seconds - recorded) < 2.5 and replay.size_bytes == video.stat().st_size
    boxes = _top_level_boxes(video)
    assert "moov" in boxes and "mdat" in boxes and boxes.index("moov") < boxes.index("mdat"), boxes
    assert replay.playback_url == django_settings.MEDIA_PUBLIC_URL + replay.video_path

    progress = [e for g, e in published_events if g == f"stream-{stream.pk}.staff"
                and e["type"] == "stream:replay-progress"]
    assert progress[0]["status"] == "processing" and progress[-1] == {
        "type": "stream:replay-progress", "status": "ready", "progress": 1.0, "stream_id": str(stream.pk)}
    values = [e["progress"] for e in progress]
    assert values == sorted(values)
    assert not any(e["type"] == "stream:replay-progress" for g, e in published_events if not g.endswith(".staff"))


@pytest.mark.django_db(transaction=True)
def test_a_recorded_stream_without_recording_fails_readably_and_stays_ended(settings, tmp_path, published_events):
    settings.MEDIA_ROOT = tmp_path / "media"
    stream = StreamFactory(record=True, status=Stream.Status.ENDED, started_at=timezone.now() - timedelta(minutes=5),
                           ended_at=timezone.now())
    StreamFactory(record=False, status=Stream.Status.ENDED)  # not recorded: no replay at all
    assert replays_sweep() == [str(stream.pk)]
    replay = Replay.objects.get()
    stream.refresh_from_db()
    assert replay.stream == stream and replay.status == Replay.Status.FAILED
    assert "Nothing was recorded" in replay.error
    assert stream.status == Stream.Status.ENDED
    assert replays_sweep() == []
    assert published_events[-1][1]["status"] == "failed"


@pytest.mark.django_db(transaction=True)
def test_ffmpeg_failures_are_reported_with_its_last_lines(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    stream = StreamFactory(record=True, status=Stream.Status.ENDED)
    record = tmp_path / "media" / "relays" / str(stream.pk) / "record"
    record.mkdir(parents=True)
    (record / "rec_000000.ts").write_bytes(b"this is not MPEG-TS" * 100)
    (record / "recording.m3u8").write_text("#EXTM3U\n#EXT-X-TARGETDURATION:4\n#EXTINF:4.0,\nrec_000000.ts\n")
    replays_sweep()
    replay = Replay.objects.get(stream=stream)
    assert replay.status == Replay.Status.FAILED
    assert replay.error.startswith("FFmpeg could not build the replay:") and len(replay.error.splitlines()) > 1
    assert not (tmp_path / "media" / "replays" / str(stream.pk) / "replay.mp4").exists()


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_sweeps_claim_a_stream_once(settings, tmp_path):
    from livestreams.services.replays import replay_claim

    settings.MEDIA_ROOT = tmp_path / "media"
    stream = StreamFactory(record=True, status=Stream.Status.ENDED)
    claims, barrier = [], threading.Barrier(4)

    def claim():
        from django.db import connection

        barrier.wait()
        try:
            claims.append(replay_claim(stream_id=stream.pk, stale_after=600))
        finally:
            connection.close()

    threads = [threading.Thread(target=claim) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len([c for c in claims if c is not None]) == 1
    assert Replay.objects.filter(stream=stream).count() == 1


@pytest.mark.django_db
def test_a_stale_processing_replay_is_taken_over_and_a_fresh_one_is_not(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    stream = StreamFactory(record=True, status=Stream.Status.ENDED)
    Replay.objects.create(stream=stream)
    assert replays_sweep() == []  # someone is building it
    Replay.objects.filter(stream=stream).update(updated_at=timezone.now() - timedelta(hours=1))
    assert replays_sweep() == [str(stream.pk)]
    assert Replay.objects.get(stream=stream).status == Replay.Status.FAILED  # (no recording here)


@pytest.mark.django_db
def test_the_sweep_waits_for_the_recorder_to_stop(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    stream = StreamFactory(record=True, status=Stream.Status.ENDED)
    Relay.objects.create(stream=stream, kind="record", state="running")
    assert replays_sweep() == [] and not Replay.objects.exists()
    Relay.objects.filter(stream=stream).update(state="stopped")
    assert replays_sweep() == [str(stream.pk)]


# --- the API -----------------------------------------------------------------------------------------

def _ready(stream, tmp_path, **fields) -> Replay:
    folder = tmp_path / "media" / "replays" / str(stream.pk)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "replay.mp4").write_bytes(b"mp4")
    (folder / "poster.jpg").write_bytes(b"jpg")
    values = {"status": Replay.Status.READY, "progress": 1.0, "video_path": f"replays/{stream.pk}/replay.mp4",
              "poster_path": f"replays/{stream.pk}/poster.jpg", "duration_seconds": 61.5, "size_bytes": 3,
              "ready_at": timezone.now(), **fields}
    return Replay.objects.create(stream=stream, **values)


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT, settings.RELAYS_WORK_ROOT = tmp_path / "media", tmp_path / "work"
    return tmp_path


@pytest.mark.django_db
@pytest.mark.parametrize("case", ["published", "unpublished", "processing", "failed", "unlisted"])
def test_replay_api_permission_matrix(client_for, fan, other_artist, staff, media, case):
    stream = StreamFactory(status=Stream.Status.ARCHIVED, record=True,
                           visibility=Stream.Visibility.UNLISTED if case == "unlisted" else Stream.Visibility.PUBLIC)
    if case in ("processing", "failed"):
        Replay.objects.create(stream=stream, status=case, progress=0.4 if case == "processing" else 0.0)
    else:
        _ready(stream, media, published=case != "unpublished")
    url = f"/api/v1/livestreams/{stream.pk}/replay/"
    everyone_sees = case in ("published", "unlisted")
    for user in (None, fan, other_artist):
        assert client_for(user).get(url).status_code == (200 if everyone_sees else 404), (case, user)
    for user in (stream.artist, staff):
        response = client_for(user).get(url)
        assert response.status_code == 200
        data = response.json()
        assert set(data) >= {"status", "progress", "playback_url", "duration", "poster_url"}
        assert data["status"] == ("ready" if case not in ("processing", "failed") else case)
    data = client_for(None if everyone_sees else stream.artist).get(url).json()
    if case in ("processing", "failed"):
        assert data["playback_url"] is None and data["progress"] == (0.4 if case == "processing" else 0.0)
    else:
        assert data == {**data, "status": "ready", "progress": 1.0, "duration": 61.5,
                        "playback_url": django_settings.MEDIA_PUBLIC_URL + f"replays/{stream.pk}/replay.mp4",
                        "poster_url": django_settings.MEDIA_PUBLIC_URL + f"replays/{stream.pk}/poster.jpg"}


@pytest.mark.django_db
def test_replay_api_404s_without_a_replay_or_stream(client_for, staff):
    stream = StreamFactory(status=Stream.Status.ENDED)
    assert client_for(staff).get(f"/api/v1/livestreams/{stream.pk}/replay/").status_code == 404
    assert client_for(staff).delete(f"/api/v1/livestreams/{stream.pk}/replay/").status_code == 404
    Replay.objects.create(stream=stream)  # processing: deleting it now would only restart it
    response = client_for(staff).delete(f"/api/v1/livestreams/{stream.pk}/replay/")
    assert response.status_code == 400 and "still being prepared" in response.json()["detail"]
    assert Replay.objects.filter(stream=stream).exists()
    Replay.objects.filter(stream=stream).delete()
    assert client_for(staff).get("/api/v1/livestreams/00000000-0000-0000-0000-000000000000/replay/").status_code == 404
    assert client_for(staff).post(f"/api/v1/livestreams/{stream.pk}/replay/publish/").status_code == 404


@pytest.mark.django_db
def test_publish_unpublish_and_delete_are_for_the_owner_and_staff(client_for, fan, other_artist, staff, media,
                                                                   published_events,
                                                                   django_capture_on_commit_callbacks):
    stream = StreamFactory(status=Stream.Status.ARCHIVED, record=True)
    replay = _ready(stream, media)
    base = f"/api/v1/livestreams/{stream.pk}/replay/"
    assert client_for(None).post(base + "unpublish/").status_code == 401
    for user in (fan, other_artist):
        assert client_for(user).post(base + "unpublish/").status_code == 403
        assert client_for(user).delete(base).status_code == 403
    replay.refresh_from_db()
    assert replay.published

    response = client_for(stream.artist).post(base + "unpublish/")
    assert response.status_code == 200 and response.json()["published"] is False
    assert client_for(fan).get(base).status_code == 404
    assert client_for(staff).post(base + "publish/").json()["published"] is True
    assert client_for(fan).get(base).status_code == 200

    folder = media / "media" / "replays" / str(stream.pk)
    assert folder.is_dir()
    with django_capture_on_commit_callbacks(execute=True):
        assert client_for(stream.artist).delete(base).status_code == 204
    assert not folder.exists() and not Replay.objects.filter(stream=stream).exists()
    stream.refresh_from_db()
    assert stream.status == Stream.Status.ARCHIVED
    assert client_for(stream.artist).get(base).status_code == 404
    assert client_for(stream.artist).delete(base).status_code == 404


@pytest.mark.django_db
def test_replay_chat_gives_offsets_from_the_start_in_order(client_for, fan, media, django_assert_max_num_queries):
    started = timezone.now() - timedelta(hours=1)
    stream = StreamFactory(status=Stream.Status.ARCHIVED, started_at=started, ended_at=started + timedelta(minutes=30))
    _ready(stream, media)
    at = {}
    for seq, (seconds, text) in enumerate([(12.5, "first <b>"), (3, "zero"), (40, "deleted"), (75, "late")], 1):
        message = ChatMessage.objects.create(stream=stream, user=fan, text=text, seq=seq)
        ChatMessage.objects.filter(pk=message.pk).update(created_at=started + timedelta(seconds=seconds))
        at[text] = message
    ChatMessage.objects.filter(pk=at["deleted"].pk).update(deleted_at=timezone.now())
    url = f"/api/v1/livestreams/{stream.pk}/replay/chat/"
    with django_assert_max_num_queries(6):
        data = client_for(None).get(url).json()
    assert [(m["offset"], m["text"]) for m in data["results"]] == [(3.0, "zero"), (12.5, "first <b>"), (75.0, "late")]
    assert data["results"][0]["user"]["username"] == "fan" and data["next_after"] is None
    page = client_for(None).get(url, {"after": 3, "limit": 1}).json()
    assert [m["text"] for m in page["results"]] == ["first <b>"] and page["next_after"] == 12.5
    assert [m["text"] for m in client_for(None).get(url, {"after": 12.5}).json()["results"]] == ["late"]
    assert client_for(None).get(url, {"after": "soon"}).status_code == 400
    # Offsets count from the replay's first frame when the recording says when that was.
    Replay.objects.filter(stream=stream).update(recorded_from=started + timedelta(seconds=2))
    assert [m["offset"] for m in client_for(None).get(url).json()["results"]] == [1.0, 10.5, 73.0]
    # Unpublished: the chat of the replay is hidden with it.
    Replay.objects.filter(stream=stream).update(published=False)
    assert client_for(fan).get(url).status_code == 404
    assert client_for(stream.artist).get(url).status_code == 200


# --- cleanup -------------------------------------------------------------------------------------------

@pytest.mark.django_db
def test_media_cleanup_removes_the_folders_of_deleted_streams_only(media, settings):
    kept, gone = StreamFactory(), StreamFactory()
    root, work = media / "media", Path(settings.RELAYS_WORK_ROOT)
    for stream in (kept, gone):
        (root / "relays" / str(stream.pk) / "record").mkdir(parents=True)
        (root / "relays" / str(stream.pk) / "record" / "rec_000000.ts").write_bytes(b"x" * 10)
        (root / "replays" / str(stream.pk)).mkdir(parents=True)
        (work / str(stream.pk) / "record").mkdir(parents=True)
    (root / "replays" / "not-a-stream").mkdir()
    gone_id = gone.pk
    gone.delete()
    removed = media_cleanup()
    assert sorted(removed) == sorted(str(folder / str(gone_id)) for folder in (root / "relays", root / "replays", work))
    assert (root / "relays" / str(kept.pk)).is_dir() and (root / "replays" / str(kept.pk)).is_dir()
    assert (work / str(kept.pk)).is_dir()
    assert (root / "replays" / "not-a-stream").is_dir()
