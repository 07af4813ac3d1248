"""The transcode relay end to end, with the real nginx-rtmp and real FFmpeg: a 720p broadcast with
the "720p" preset gets a ladder (source + 480p + 360p) that players load from the media server's
/media/ while it runs, and the stream falls back to the source playlist when it ends."""

import json
import shutil
import subprocess
import uuid
from pathlib import Path

import pytest
import requests

from livestreams.models import Stream
from livestreams.services import stream_end, stream_set_abr, stream_set_generated_thumbnail
from livestreams.tests.factories import LiveStreamFactory, StreamFactory
from streaming.models import Relay
from streaming.relays import relays_reconcile
from streaming.testing import wait_until
from streaming.tests.test_relays import (  # noqa: F401 - relays_env is a fixture
    alive,
    pids_writing_to,
    reconcile_until,
    relay,
    relays_env,
    remember,
    wait_live,
)


@pytest.fixture
def served_media(media_server, relays_env, settings):
    """MEDIA_ROOT inside the folder the test nginx serves at /media/, so what the relays write is
    reachable over HTTP at MEDIA_PUBLIC_URL. (relays_env still kills every relay process at the end.)"""
    name = f"test-{uuid.uuid4().hex[:8]}"
    root = media_server.layout.media_root / name
    settings.MEDIA_ROOT = root
    settings.MEDIA_PUBLIC_URL = f"{media_server.media_base_url}{name}/"
    settings.ABR_HLS_URL_TEMPLATE = settings.MEDIA_PUBLIC_URL + "relays/{stream_id}/transcode/master.m3u8"
    try:
        yield root
    finally:
        shutil.rmtree(root, ignore_errors=True)


def _variants(master: str) -> list[tuple[dict, str]]:
    lines = master.splitlines()
    found = []
    for i, line in enumerate(lines):
        if line.startswith("#EXT-X-STREAM-INF:"):
            attrs = dict(part.split("=", 1) for part in line.split(":", 1)[1].split(",") if "=" in part)
            found.append((attrs, lines[i + 1]))
    return found


def _height(path) -> int:
    probe = subprocess.run(["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries", "stream=height",
                            "-of", "json", str(path)], capture_output=True, text=True, timeout=15)
    assert probe.returncode == 0, probe.stderr
    return json.loads(probe.stdout)["streams"][0]["height"]


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_a_720p_broadcast_with_the_720p_preset_is_served_as_a_ladder_while_live(served_media, relays_env, encoder,
                                                                                  client_for, published_events,
                                                                                  settings):
    stream = StreamFactory(quality_preset="720p")
    encoder(stream.obs_stream_key, seconds=20, size="1280x720", video_bitrate="1500k")
    wait_live(stream)
    source_url = stream.hls_url

    def serving():
        stream.refresh_from_db()
        return relay(stream, "transcode").state == Relay.State.RUNNING and stream.abr_active
    reconcile_until(serving, timeout=20, message="ladder running and serving")
    transcoder = relay(stream, "transcode")
    remember(relays_env, transcoder)
    out = transcoder.output_dir
    assert out == Path(served_media) / "relays" / str(stream.pk) / "transcode"
    assert pids_writing_to(out) == {transcoder.pid}

    # The master playlist: the source passed through, and only the rungs below it (720p is not).
    variants = _variants((out / "master.m3u8").read_text())
    assert [uri for _, uri in variants] == ["source/index.m3u8", "480p/index.m3u8", "360p/index.m3u8"]
    assert [attrs["RESOLUTION"] for attrs, _ in variants] == ["1280x720", "854x480", "640x360"]
    bandwidths = [int(attrs["BANDWIDTH"]) for attrs, _ in variants]
    assert 1_500_000 <= bandwidths[0] <= 2_500_000  # the encoder's 1.5 Mbit/s plus audio
    assert bandwidths[0] > bandwidths[1] > bandwidths[2] >= 300_000

    # Every rendition's segments play, at its own height.
    for (attrs, uri), height in zip(variants, (720, 480, 360), strict=True):
        playlist = out / uri
        segments = wait_until(lambda p=playlist: p.exists() and [line for line in p.read_text().splitlines()
                                                                    if line.endswith(".ts")],
                              timeout=10, message=f"{uri} lists a segment")
        assert _height(playlist.parent / segments[0]) == height

    # Players are sent to the master playlist, which the media server serves at /media/.
    master_url = f"{served_media_url(stream)}"
    assert stream.hls_url == master_url != source_url
    switches = [e for g, e in published_events if g == f"stream-{stream.pk}" and e["type"] == "stream:settings"]
    assert switches == [{"type": "stream:settings", "abr_active": True, "hls_url": master_url,
                         "stream_id": str(stream.pk)}]
    updates = [e["relay"] for g, e in published_events
               if g == f"stream-{stream.pk}.staff" and e["type"] == "stream:relay-update" and e["relay"]["kind"] == "transcode"]
    states = [u["state"] for u in updates]
    assert [s for i, s in enumerate(states) if i == 0 or states[i - 1] != s] == ["starting", "running"]
    assert set(updates[-1]) == {"id", "kind", "state", "restarts", "progress", "failure_reason", "destination_id",
                                "destination_name", "started_at"}
    assert not [e for g, e in published_events if e["type"] == "stream:relay-update" and not g.endswith(".staff")]
    api = client_for(stream.artist).get(f"/api/v1/livestreams/{stream.pk}/").json()
    assert api["hls_url"] == master_url
    fetched = requests.get(master_url, timeout=5)
    assert fetched.status_code == 200 and "#EXT-X-STREAM-INF" in fetched.text
    assert fetched.headers["Access-Control-Allow-Origin"] == "*" and "no-cache" in fetched.headers["Cache-Control"]
    segment_url = master_url.rsplit("/", 1)[0] + "/360p/" + _segments(out / "360p" / "index.m3u8")[-1]
    segment = requests.get(segment_url, timeout=5)
    assert segment.status_code == 200 and segment.headers["Content-Type"] == "video/mp2t" and len(segment.content) > 1000
    # FFmpeg's log, progress file and pidfile live outside the served folder (and would not be served).
    assert (transcoder.work_dir / "ffmpeg.log").is_file() and (transcoder.work_dir / "relay.pid").is_file()
    assert not [p.name for p in out.rglob("*") if p.suffix in {".log", ".pid", ".txt"}]
    assert requests.get(master_url.rsplit("/", 1)[0] + "/ffmpeg.log", timeout=5).status_code == 404

    # The first grabbed frame became the stream's picture (the artist chose none), served at /media/ too.
    thumbnail_url = f"{settings.MEDIA_PUBLIC_URL}relays/{stream.pk}/thumbnail/thumbnail.jpg"
    reconcile_until(lambda: Stream.objects.get(pk=stream.pk).thumbnail_url == thumbnail_url, timeout=10,
                    message="thumbnail_url set")
    picture = requests.get(thumbnail_url, timeout=5)
    assert picture.status_code == 200 and picture.headers["Content-Type"] == "image/jpeg"
    assert picture.content[:3] == b"\xff\xd8\xff"

    stream_end(stream=stream)
    reconcile_until(lambda: relay(stream, "transcode").state == Relay.State.STOPPED, timeout=10, message="stopped")
    stream.refresh_from_db()
    assert not alive(transcoder.pid, transcoder.start_ticks) and not pids_writing_to(out)
    assert stream.status == Stream.Status.ENDED and stream.abr_active is False
    assert stream.hls_url == source_url
    relays_reconcile()
    assert relay(stream, "transcode").pid is None


@pytest.mark.django_db
def test_a_generated_thumbnail_never_replaces_the_artists_own():
    own = LiveStreamFactory(thumbnail_url="https://example.com/poster.jpg")
    assert stream_set_generated_thumbnail(stream=own, url="http://x/media/t.jpg").thumbnail_url == own.thumbnail_url
    bare = LiveStreamFactory(thumbnail_url="")
    assert stream_set_generated_thumbnail(stream=bare, url="http://x/media/t.jpg").thumbnail_url == "http://x/media/t.jpg"
    assert Stream.objects.get(pk=bare.pk).thumbnail_url == "http://x/media/t.jpg"


@pytest.mark.django_db
def test_the_abr_switch_tells_open_players_and_is_idempotent(published_events, django_capture_on_commit_callbacks):
    stream = LiveStreamFactory()
    source_url = stream.hls_url
    with django_capture_on_commit_callbacks(execute=True):
        assert stream_set_abr(stream=stream, active=True).hls_url.endswith(f"relays/{stream.pk}/transcode/master.m3u8")
        stream_set_abr(stream=stream, active=True)
        assert stream_set_abr(stream=stream, active=False).hls_url == source_url
    events = [e for _, e in published_events if e["type"] == "stream:settings"]
    assert [(e["abr_active"], e["hls_url"] == source_url) for e in events] == [(True, False), (False, True)]


def served_media_url(stream) -> str:
    from django.conf import settings

    return f"{settings.MEDIA_PUBLIC_URL}relays/{stream.pk}/transcode/master.m3u8"


def _segments(playlist: Path) -> list[str]:
    return [line for line in playlist.read_text().splitlines() if line.endswith(".ts")]
