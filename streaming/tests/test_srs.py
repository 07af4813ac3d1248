"""The SRS adapter against bodies recorded from a real SRS 6.0.155 (tests/captured/srs/): every
callback action, every API response, including the odd ones."""

import json
from pathlib import Path

import pytest
from django.test import RequestFactory

from livestreams.models import Stream
from livestreams.tests.factories import StreamFactory
from streaming.media_servers import MediaServerError, get_media_server
from streaming.media_servers.srs import LIST_COUNT, SrsServer
from streaming.models import PublishSession
from streaming.tests.replay import ReplayServer

CAPTURED = Path(__file__).parent / "captured" / "srs"


def body(name: str) -> bytes:
    return (CAPTURED / name).read_bytes()


def post_json(raw: bytes):
    return RequestFactory().post("/hooks/srs/x/", data=raw, content_type="application/json")


@pytest.mark.parametrize(("name", "action", "stream", "key", "client_id"), [
    ("hook_on_publish.json", "publish", "TESTKEY", "", "g6mw2vl7"),
    ("hook_on_publish_with_param.json", "publish", "K2", "secret123", "87m8403g"),
    ("hook_on_publish_rejected_by_403.json", "publish", "BADKEY", "", "8i8d3bxj"),
    ("hook_on_unpublish.json", "unpublish", "TESTKEY", "", "g6mw2vl7"),
    ("hook_on_unpublish_after_api_kick.json", "unpublish", "K2", "secret123", "87m8403g"),
    ("hook_on_play_httpflv.json", "play", "TESTKEY", "", "t91n5434"),
    # HLS players name the stream "TESTKEY.m3u8"; stream_url still says /live/TESTKEY.
    ("hook_on_play_hls.json", "play", "TESTKEY", "", "310u8128"),
    ("hook_on_stop_httpflv.json", "stop", "TESTKEY", "", "t91n5434"),
    ("hook_on_hls.json", "hls", "TESTKEY", "", "g6mw2vl7"),
])
def test_every_captured_callback_parses_into_one_event_shape(name, action, stream, key, client_id):
    event = SrsServer().parse_callback(post_json(body(name)))
    assert (event.action, event.app, event.name, event.key, event.client_id, event.addr) == \
        (action, "live", stream, key, client_id, "127.0.0.1")
    assert "secret123" not in repr(event)


def test_answers_are_what_srs_accepts_and_refuses():
    allowed = SrsServer().answer(allowed=True)
    assert allowed.status_code == 200 and json.loads(allowed.content) == {"code": 0}
    refused = SrsServer().answer(allowed=False, reason="wrong key")
    # SRS refuses any status but 200/201, and any body but 0 / {"code": 0}.
    assert refused.status_code not in (200, 201) and json.loads(refused.content)["code"] != 0


@pytest.fixture
def srs_api(settings):
    server = ReplayServer()
    settings.SRS_API_URL = server.url
    settings.MEDIA_SERVER = "srs"
    settings.MEDIA_SERVER_HTTP_TIMEOUT = 0.5
    try:
        yield server
    finally:
        server.stop()


def test_stats_come_from_one_streams_request_with_a_large_count(srs_api):
    srs_api.routes[("GET", "/api/v1/streams/")] = (200, body("api_v1_streams_publishing_35s.json"))
    [stats] = get_media_server().fetch_stats()
    assert (stats.name, stats.publishing, stats.client_id) == ("K2", True, "87m8403g")
    assert (stats.bitrate_kbps, stats.bytes_in, stats.frames) == (658, 2595706, 883)
    assert (stats.width, stats.height, stats.video_codec, stats.audio_codec) == (640, 360, "H264", "AAC")
    assert stats.clients == 0  # SRS counts the publisher in `clients`
    assert stats.fps is None  # SRS reports no frame rate: the poll computes it from `frames`
    assert len(srs_api.requests) == 1
    method, path, query = srs_api.requests[0]
    assert query["count"] == [str(LIST_COUNT)] and int(query["count"][0]) > 10  # SRS pages at 10


def test_stats_in_the_first_seconds_read_zero_and_the_odd_resolution(srs_api):
    srs_api.routes[("GET", "/api/v1/streams/")] = (200, body("api_v1_streams_publishing_yuv444_no_kbps_yet.json"))
    [stats] = get_media_server().fetch_stats()
    assert (stats.bitrate_kbps, stats.frames, stats.width, stats.height) == (0, 0, 640, 352)


def test_stats_after_unpublish_show_no_publisher_and_null_media(srs_api):
    srs_api.routes[("GET", "/api/v1/streams/")] = (200, body("api_v1_streams_after_unpublish.json"))
    [stats] = get_media_server().fetch_stats()
    assert stats.publishing is False and stats.width is None and stats.video_codec == ""


@pytest.mark.parametrize(("status", "raw"), [
    (200, body("api_v1_streams_not_found_http200.json")),  # HTTP 200 with code 2048
    (404, b"not found"),
    (200, b"<html>"),
])
def test_stats_errors_are_media_server_errors(srs_api, status, raw):
    srs_api.routes[("GET", "/api/v1/streams/")] = (status, raw)
    with pytest.raises(MediaServerError):
        get_media_server().fetch_stats()


def test_a_hanging_srs_times_out(srs_api):
    srs_api.routes[("GET", "/api/v1/streams/")] = "hang"
    with pytest.raises(MediaServerError):
        get_media_server().fetch_stats()


def test_kick_deletes_the_client(srs_api):
    srs_api.routes[("DELETE", "/api/v1/clients/87m8403g")] = (200, body("api_v1_clients_delete_ok.json"))
    assert get_media_server().kick_publisher(stream_name="K2", client_id="87m8403g") is True
    assert srs_api.requests == [("DELETE", "/api/v1/clients/87m8403g", {})]


def test_kick_of_a_gone_client_answers_http_200_code_2049(srs_api):
    srs_api.routes[("DELETE", "/api/v1/clients/gone1234")] = (200, body("api_v1_clients_delete_not_found_http200.json"))
    assert get_media_server().kick_publisher(stream_name="K2", client_id="gone1234") is False


def test_kick_without_a_client_id_finds_it_in_the_stream_list(srs_api):
    srs_api.routes[("GET", "/api/v1/streams/")] = (200, body("api_v1_streams_publishing_35s.json"))
    srs_api.routes[("DELETE", "/api/v1/clients/87m8403g")] = (200, body("api_v1_clients_delete_ok.json"))
    assert get_media_server().kick_publisher(stream_name="K2") is True


@pytest.mark.django_db
def test_captured_callbacks_drive_the_lifecycle_through_the_endpoint(client, settings):
    """on_publish with ?key= -> live; on_unpublish after an API kick -> interrupted; a repeat changes nothing."""
    stream = StreamFactory(playback_id="K2", stream_key="secret123")
    url = f"/hooks/srs/{settings.MEDIA_SERVER_CALLBACK_SECRET}/"

    def call(name):
        return client.post(url, data=body(name), content_type="application/json")

    response = call("hook_on_publish_with_param.json")
    assert response.status_code == 200 and response.json() == {"code": 0}
    stream.refresh_from_db()
    assert stream.status == Stream.Status.LIVE and stream.publisher_client_id == "87m8403g"
    assert call("hook_on_hls.json").json() == {"code": 0}  # must answer 0, changes nothing
    assert call("hook_on_play_hls.json").status_code == 403  # TESTKEY is no live stream here
    response = call("hook_on_unpublish_after_api_kick.json")
    assert response.json() == {"code": 0}
    stream.refresh_from_db()
    assert stream.interrupted_at is not None and not stream.publisher_active
    interrupted_at = stream.interrupted_at
    assert call("hook_on_unpublish_after_api_kick.json").status_code == 200
    stream.refresh_from_db()
    assert stream.interrupted_at == interrupted_at
    assert PublishSession.objects.get(stream=stream).end_reason == PublishSession.EndReason.UNPUBLISHED


@pytest.mark.django_db
def test_captured_publish_without_the_key_is_refused(client, settings):
    stream = StreamFactory(playback_id="TESTKEY")
    response = client.post(f"/hooks/srs/{settings.MEDIA_SERVER_CALLBACK_SECRET}/",
                           data=body("hook_on_publish.json"), content_type="application/json")
    assert response.status_code == 403 and response.json()["code"] != 0
    stream.refresh_from_db()
    assert stream.status == Stream.Status.SCHEDULED and not PublishSession.objects.exists()


@pytest.mark.django_db
def test_one_poll_is_one_request_and_a_constant_number_of_queries(srs_api, django_assert_num_queries,
                                                                    published_events,
                                                                    django_capture_on_commit_callbacks):
    """Three live streams: one SRS request, samples in bulk; the second poll computes fps from `frames`."""
    from django.utils import timezone

    from livestreams.tests.factories import LiveStreamFactory
    from streaming.models import HealthSample
    from streaming.stats import stats_poll

    captured = json.loads(body("api_v1_streams_publishing_35s.json"))
    template = captured["streams"][0]
    streams = [LiveStreamFactory() for _ in range(3)]
    for i, stream in enumerate(streams):
        PublishSession.objects.create(stream=stream, media_server="srs", client_id=f"c{i}",
                                      started_at=timezone.now())

    def serve(frames: int, recv_bytes: int):
        items = [{**template, "name": s.playback_id, "url": f"/live/{s.playback_id}", "frames": frames,
                  "recv_bytes": recv_bytes, "publish": {"active": True, "cid": f"c{i}"}}
                 for i, s in enumerate(streams)]
        srs_api.routes[("GET", "/api/v1/streams/")] = (200, json.dumps({**captured, "streams": items}).encode())

    serve(frames=883, recv_bytes=2_595_706)
    with django_assert_num_queries(7):  # streams, sessions, history, savepoint, insert, update, release
        first = stats_poll()
    assert len(first) == 3 and len(srs_api.requests) == 1
    HealthSample.objects.update(taken_at=timezone.now() - timezone.timedelta(seconds=2))
    serve(frames=943, recv_bytes=2_795_706)
    with django_capture_on_commit_callbacks(execute=True):
        second = stats_poll()
    assert len(srs_api.requests) == 2
    assert all(28 < s.fps <= 30.5 for s in second)  # 60 frames in ~2 s
    assert all(700 < s.bitrate_kbps <= 800 for s in second)  # 200 kB in ~2 s
    assert {s.health for s in second} == {"good"}
    assert Stream.objects.filter(health="good").count() == 3
    updates = [(group, e) for group, e in published_events if e["type"] == "stream:quality-update"]
    assert {group for group, _ in updates} == {f"stream-{s.pk}.staff" for s in streams}
    assert all(e["sample"]["fps"] == pytest.approx(30, abs=2) for _, e in updates)


def test_version_is_the_reachability_check(srs_api):
    srs_api.routes[("GET", "/api/v1/versions")] = (200, body("api_v1_versions.json"))
    assert get_media_server().version() == "SRS 6.0.155"


def test_the_single_stream_answer_parses_like_a_list_entry():
    from streaming.media_servers.srs import stream_stats

    stats = stream_stats(json.loads(body("api_v1_streams_by_id.json"))["stream"])
    assert (stats.name, stats.publishing, stats.client_id, stats.width, stats.height) == \
        ("TESTKEY", True, "g6mw2vl7", 640, 352)


def test_the_check_command_reports_version_and_streams(srs_api, capsys):
    from django.core.management import call_command

    srs_api.routes[("GET", "/api/v1/versions")] = (200, body("api_v1_versions.json"))
    srs_api.routes[("GET", "/api/v1/streams/")] = (200, body("api_v1_streams_publishing_35s.json"))
    call_command("media_server_check")
    out = capsys.readouterr().out
    assert "SRS 6.0.155; 1 stream(s)" in out and "K2: publishing client=87m8403g 640x360 H264/AAC 658 kbps" in out


def test_the_check_command_fails_when_srs_is_down(srs_api):
    from django.core.management import CommandError, call_command

    srs_api.routes[("GET", "/api/v1/versions")] = (200, body("api_v1_streams_not_found_http200.json"))
    with pytest.raises(CommandError):
        call_command("media_server_check")
