"""Health verdicts, the frame rate SRS does not report, pruning, and the health API."""

from datetime import timedelta

import pytest
from django.utils import timezone

from livestreams.models import Stream
from livestreams.tests.factories import LiveStreamFactory, StreamFactory
from streaming.media_servers import StreamStats
from streaming.models import HealthSample, PublishSession
from streaming.stats import _measure, health_samples_prune, health_verdict

NOW = timezone.now()


def sample(seconds_ago=0, **kw):
    defaults = {"bitrate_kbps": 2000, "bytes_in": 1_000_000 - seconds_ago * 1000, "fps": 30.0, "source_fps": 30.0}
    return HealthSample(taken_at=NOW - timedelta(seconds=seconds_ago), **{**defaults, **kw})


def test_steady_stream_is_good():
    history = [sample(20), sample(15), sample(10), sample(5)]
    assert health_verdict(sample=sample(), history=history) == ("good", "")


def test_bitrate_under_half_its_average_is_degraded():
    history = [sample(20), sample(15), sample(10), sample(5)]
    health, reason = health_verdict(sample=sample(bitrate_kbps=900), history=history)
    assert health == "degraded" and "under half its average (2000 kbps)" in reason


def test_a_dip_needs_an_average_first():
    assert health_verdict(sample=sample(bitrate_kbps=100), history=[sample(5)])[0] == "good"


def test_frame_rate_under_80_percent_of_the_source_is_degraded():
    health, reason = health_verdict(sample=sample(fps=20.0), history=[sample(5)])
    assert health == "degraded" and "80%" in reason
    assert health_verdict(sample=sample(fps=25.0), history=[sample(5)])[0] == "good"


def test_no_data_for_ten_seconds_is_bad():
    stalled = [sample(12, bytes_in=5), sample(6, bytes_in=5)]
    health, reason = health_verdict(sample=sample(bytes_in=5), history=stalled)
    assert health == "bad" and "12 s" in reason
    assert health_verdict(sample=sample(bytes_in=5), history=[sample(6, bytes_in=5)])[0] == "good"


def test_srs_frame_rate_and_bitrate_come_from_the_difference_between_polls():
    previous = HealthSample(taken_at=NOW - timedelta(seconds=2), bytes_in=1_000_000, frames=880, fps=30.0)
    stats = StreamStats(name="K2", publishing=True, bytes_in=1_200_000, frames=940, bitrate_kbps=658)
    measured = _measure(stats, previous, [previous], NOW)
    assert measured.fps == 30.0 and measured.source_fps == 30.0
    assert measured.bitrate_kbps == 800  # 200 kB in 2 s, not SRS's 30 s average
    first = _measure(stats, None, [], NOW)
    assert first.bitrate_kbps == 658 and first.fps is None  # nothing to compare with yet


@pytest.mark.django_db
def test_old_samples_are_pruned(settings):
    stream = LiveStreamFactory()
    settings.STATS_SAMPLE_RETENTION_HOURS = 1
    HealthSample.objects.bulk_create([
        HealthSample(stream=stream, taken_at=timezone.now() - timedelta(hours=2)),
        HealthSample(stream=stream, taken_at=timezone.now() - timedelta(minutes=10)),
    ])
    assert health_samples_prune() == 1
    assert HealthSample.objects.count() == 1


@pytest.mark.django_db
class TestHealthApi:
    def url(self, stream):
        return f"/api/v1/livestreams/{stream.pk}/health/"

    @pytest.fixture
    def stream(self, artist):
        stream = LiveStreamFactory(artist=artist, health=Stream.Health.DEGRADED, health_reason="Bitrate fell.")
        session = PublishSession.objects.create(stream=stream, media_server="nginx-rtmp", client_id="1",
                                                started_at=timezone.now())
        HealthSample.objects.bulk_create([
            HealthSample(stream=stream, session=session, taken_at=timezone.now() - timedelta(seconds=5 * i),
                         bitrate_kbps=1000 + i, width=640, height=360, fps=30.0, health="good")
            for i in range(3)])
        return stream

    def test_anonymous_is_401(self, api, stream):
        assert api.get(self.url(stream)).status_code == 401

    def test_other_users_are_403(self, client_for, stream, fan, other_artist):
        assert client_for(fan).get(self.url(stream)).status_code == 403
        assert client_for(other_artist).get(self.url(stream)).status_code == 403

    @pytest.mark.parametrize("who", ["artist", "staff"])
    def test_owner_and_staff_see_the_latest_health_and_samples(self, client_for, stream, request, who,
                                                               django_assert_max_num_queries):
        client = client_for(request.getfixturevalue(who))
        with django_assert_max_num_queries(6):
            response = client.get(self.url(stream))
        assert response.status_code == 200
        data = response.json()
        assert (data["health"], data["reason"], data["status"]) == ("degraded", "Bitrate fell.", "live")
        assert [s["bitrate_kbps"] for s in data["samples"]] == [1000, 1001, 1002]  # newest first
        assert data["samples"][0]["width"] == 640

    def test_limit(self, client_for, stream):
        assert len(client_for(stream.artist).get(self.url(stream) + "?limit=1").json()["samples"]) == 1

    def test_unknown_stream_is_404(self, client_for, staff):
        assert client_for(staff).get(f"/api/v1/livestreams/{StreamFactory.build().pk}/health/").status_code == 404


@pytest.mark.django_db
def test_ending_a_stream_with_an_unreachable_media_server_still_ends_it(settings, client_for,
                                                                        django_capture_on_commit_callbacks):
    """The kick runs after commit; a media server that is down is logged, and reconciliation retries."""
    from streaming.testing import free_port

    settings.NGINX_CONTROL_URL = f"http://127.0.0.1:{free_port()}"
    stream = LiveStreamFactory(publisher_client_id="5")
    PublishSession.objects.create(stream=stream, media_server="nginx-rtmp", client_id="5", started_at=timezone.now())
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(stream.artist).post(f"/api/v1/livestreams/{stream.pk}/stop/")
    assert response.status_code == 200
    stream.refresh_from_db()
    assert stream.status == Stream.Status.ENDED
    assert PublishSession.objects.get().end_reason == PublishSession.EndReason.KICKED
