"""The ingest path with the real parts: nginx-rtmp from the generated config calls the live Django
server back, ffmpeg publishes a test pattern like OBS."""

import time
from datetime import timedelta

import pytest
import requests
from django.utils import timezone

from livestreams.models import Stream
from livestreams.tests.factories import StreamFactory
from streaming.models import HealthSample, PublishSession
from streaming.services import ingest_close_expired_windows, ingest_reconcile
from streaming.stats import stats_poll
from streaming.testing import stop_process, wait_until

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def refresh(stream: Stream) -> Stream:
    stream.refresh_from_db()
    return stream


def wait_live(stream: Stream, timeout: float = 15) -> Stream:
    wait_until(lambda: refresh(stream).status == Stream.Status.LIVE and stream.publisher_active,
               timeout=timeout, message="stream live")
    return stream


def snapshot(stream: Stream) -> tuple:
    stream = refresh(stream)
    return (stream.status, stream.started_at, stream.publisher_active, stream.publisher_client_id,
            stream.interrupted_at, PublishSession.objects.filter(stream=stream).count())


def test_good_credentials_go_live_and_hls_is_served_under_the_playback_id(media_server, encoder):
    stream = StreamFactory()
    proc = encoder(stream.obs_stream_key)
    wait_live(stream)
    assert stream.started_at is not None
    session = PublishSession.objects.get(stream=stream)
    assert session.is_open and session.client_id == stream.publisher_client_id and not session.resumed

    playlist_url = media_server.playlist_url(stream.playback_id)
    playlist = wait_until(lambda: (r := requests.get(playlist_url, timeout=2)).status_code == 200
                          and ".ts" in r.text and r, timeout=15, message="playlist with a fragment")
    assert playlist.headers["Content-Type"] == "application/vnd.apple.mpegurl"
    assert playlist.headers["Access-Control-Allow-Origin"] == "*"
    assert "no-cache" in playlist.headers["Cache-Control"]
    assert "#EXT-X-TARGETDURATION:1" in playlist.text
    fragment = [line for line in playlist.text.splitlines() if line.endswith(".ts")][0]
    assert fragment.startswith(stream.playback_id)
    ts = requests.get(f"{media_server.hls_base_url}/{fragment}", timeout=2)
    assert ts.status_code == 200 and ts.headers["Content-Type"] == "video/mp2t" and ts.content[:1] == b"G"
    # The key never names anything a player can reach.
    assert all(stream.stream_key not in path.name for path in media_server.hls_dir.iterdir())
    assert stream.stream_key not in playlist.text
    assert proc.poll() is None


@pytest.mark.parametrize("case", ["wrong key", "unknown id", "ended stream", "cancelled stream", "wrong app"])
def test_bad_publishes_are_refused_and_change_nothing(media_server, encoder, case):
    stream = StreamFactory()
    key = stream.obs_stream_key
    rtmp_url = media_server.rtmp_url
    if case == "wrong key":
        key = f"{stream.playback_id}?key={'x' * 43}"
    elif case == "unknown id":
        key = f"NoSuchStream42?key={stream.stream_key}"
    elif case == "ended stream":
        Stream.objects.filter(pk=stream.pk).update(status=Stream.Status.ENDED)
    elif case == "cancelled stream":
        Stream.objects.filter(pk=stream.pk).update(status=Stream.Status.CANCELLED)
    before = snapshot(stream)
    if case == "wrong app":
        from streaming.testing import publish_test_pattern

        proc = publish_test_pattern(rtmp_url.rsplit("/", 1)[0] + "/other", key, seconds=5)
    else:
        proc = encoder(key, seconds=5)
    try:
        returncode = proc.wait(timeout=15)
    finally:
        stop_process(proc)
    assert returncode != 0  # ffmpeg: "Input/output error"
    assert snapshot(stream) == before
    assert not PublishSession.objects.exists()


def test_a_second_encoder_on_the_same_key_is_refused(media_server, encoder):
    stream = StreamFactory()
    first = encoder(stream.obs_stream_key)
    wait_live(stream)
    before = snapshot(stream)
    second = encoder(stream.obs_stream_key, seconds=5)
    assert second.wait(timeout=15) != 0
    assert snapshot(stream) == before
    assert first.poll() is None
    assert PublishSession.objects.filter(stream=stream, ended_at__isnull=True).count() == 1


def test_encoder_stops_then_the_stream_ends_after_the_window(media_server, encoder):
    stream = StreamFactory()
    proc = encoder(stream.obs_stream_key, seconds=2)
    wait_live(stream)
    assert proc.wait(timeout=15) == 0
    wait_until(lambda: refresh(stream).interrupted_at is not None, message="interrupted")
    assert stream.status == Stream.Status.LIVE and not stream.publisher_active
    left_at = stream.interrupted_at
    assert ingest_close_expired_windows() == 0  # the window is still open
    assert refresh(stream).status == Stream.Status.LIVE
    time.sleep(2.1)  # the test window (2 s) passes
    assert ingest_close_expired_windows() == 1
    stream = refresh(stream)
    # Ended when the encoder left, not when the window closed: the duration is the show's.
    assert stream.status == Stream.Status.ENDED and stream.ended_at == left_at
    session = PublishSession.objects.get(stream=stream)
    assert session.end_reason == PublishSession.EndReason.UNPUBLISHED


def test_republish_inside_the_window_resumes_the_same_stream(media_server, encoder):
    stream = StreamFactory()
    first = encoder(stream.obs_stream_key, seconds=2)
    wait_live(stream)
    started_at = stream.started_at
    first.wait(timeout=15)
    wait_until(lambda: refresh(stream).interrupted_at is not None, message="interrupted")
    encoder(stream.obs_stream_key)
    wait_live(stream)
    assert stream.interrupted_at is None and stream.started_at == started_at
    time.sleep(2.1)
    assert ingest_close_expired_windows() == 0
    assert refresh(stream).status == Stream.Status.LIVE
    sessions = list(PublishSession.objects.filter(stream=stream).order_by("started_at"))
    assert [s.resumed for s in sessions] == [False, True]
    assert sessions[0].ended_at is not None and sessions[1].is_open
    assert stream.publisher_client_id == sessions[1].client_id != sessions[0].client_id


def test_artist_stop_drops_the_encoder_and_ends_the_stream(media_server, encoder, client_for):
    stream = StreamFactory()
    proc = encoder(stream.obs_stream_key)
    wait_live(stream)
    response = client_for(stream.artist).post(f"/api/v1/livestreams/{stream.pk}/stop/")
    assert response.status_code == 200, response.content
    assert proc.wait(timeout=15) != 0  # dropped by /control, not finished
    stream = refresh(stream)
    assert stream.status == Stream.Status.ENDED and not stream.publisher_active
    session = PublishSession.objects.get(stream=stream)
    assert session.end_reason == PublishSession.EndReason.KICKED
    # The unpublish that follows the kick changes nothing.
    time.sleep(0.5)
    assert refresh(stream).status == Stream.Status.ENDED
    assert PublishSession.objects.get(stream=stream).end_reason == PublishSession.EndReason.KICKED


def test_stats_poll_records_real_bitrate_resolution_and_frame_rate(media_server, encoder, published_events):
    stream = StreamFactory()
    encoder(stream.obs_stream_key, size="640x360", fps=25, video_bitrate="600k")
    wait_live(stream)
    time.sleep(1.5)
    stats_poll()
    time.sleep(2)
    samples = stats_poll()
    assert len(samples) == 1
    sample = samples[0]
    assert (sample.width, sample.height, sample.fps) == (640, 360, 25.0)
    assert (sample.video_codec, sample.audio_codec) == ("H264", "AAC")
    # Measured from bytes between the two polls: the encoder's 600k video + 96k audio, loosely.
    assert 150 < sample.bitrate_kbps < 2500
    assert sample.uptime_seconds >= 2 and sample.clients == 0
    assert HealthSample.objects.filter(stream=stream).count() == 2
    stream = refresh(stream)
    assert stream.health == Stream.Health.GOOD and stream.health_updated_at is not None
    updates = [e for group, e in published_events if e["type"] == "stream:quality-update"]
    assert updates and updates[-1]["sample"]["width"] == 640
    assert all(group == f"stream-{stream.pk}.staff" for group, e in published_events
               if e["type"] == "stream:quality-update")


def test_reconcile_ends_streams_the_server_lost_and_kicks_publishers_the_database_refuses(media_server, encoder):
    lost = StreamFactory()
    # The database believes an encoder is publishing, but nginx has never seen it (missed unpublish).
    Stream.objects.filter(pk=lost.pk).update(status=Stream.Status.LIVE, publisher_active=True,
                                             publisher_client_id="999")
    kept, revoked = StreamFactory(), StreamFactory()
    kept_proc, revoked_proc = encoder(kept.obs_stream_key), encoder(revoked.obs_stream_key)
    wait_live(kept)
    wait_live(revoked)
    # Ended behind the media plane's back (no signal): the encoder is still connected.
    Stream.objects.filter(pk=revoked.pk).update(status=Stream.Status.ENDED, publisher_active=False)

    result = ingest_reconcile()
    assert result == {"interrupted": 1, "ended": 0, "kicked": 1}
    assert revoked_proc.wait(timeout=15) != 0
    assert kept_proc.poll() is None and refresh(kept).status == Stream.Status.LIVE
    assert refresh(lost).interrupted_at is not None and lost.status == Stream.Status.LIVE
    time.sleep(2.1)
    assert ingest_reconcile()["ended"] == 1
    assert refresh(lost).status == Stream.Status.ENDED
    assert refresh(kept).status == Stream.Status.LIVE


def test_after_a_media_server_restart_the_encoders_retry_resumes_the_stream(media_server, encoder):
    """nginx lost the session without an unpublish: the database still says "publishing". The
    retry is refused, triggers reconciliation, and the next retry resumes the same stream."""
    stream = StreamFactory()
    # As if an encoder had been publishing on an nginx that has since restarted.
    Stream.objects.filter(pk=stream.pk).update(status=Stream.Status.LIVE, publisher_active=True,
                                               publisher_client_id="999")
    PublishSession.objects.create(stream=stream, media_server="nginx-rtmp", client_id="999",
                                  started_at=timezone.now() - timedelta(minutes=5))
    first_retry = encoder(stream.obs_stream_key, seconds=5)
    assert first_retry.wait(timeout=15) != 0  # refused: the database believed client 999 publishes
    stream = refresh(stream)
    assert stream.status == Stream.Status.LIVE and stream.interrupted_at is not None  # reconciled
    encoder(stream.obs_stream_key)
    wait_live(stream)
    assert stream.interrupted_at is None and stream.publisher_client_id != "999"
    assert PublishSession.objects.get(client_id="999").end_reason == PublishSession.EndReason.MISSING
