"""Poll the media server, record a health sample per live stream, keep each stream's verdict.

One poll is one request to the media server whatever the number of streams; samples are written
with one bulk insert. Bitrate and SRS frame rate come from the difference with the previous sample
of the same publish session (both servers' own averages read 0 during the first seconds).
"""

import logging
from collections import defaultdict
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from livestreams.models import Stream
from livestreams.services import stream_record_health
from streaming.media_servers import MediaServer, StreamStats, get_media_server
from streaming.models import HealthSample, PublishSession

logger = logging.getLogger(__name__)

GOOD, DEGRADED, BAD = Stream.Health.GOOD, Stream.Health.DEGRADED, Stream.Health.BAD
HISTORY = timedelta(seconds=60)  # how far back averages and stalls look
STALL_SECONDS = 10  # "no data for 10 s"
MIN_AVERAGE_SAMPLES = 3


def health_verdict(*, sample: HealthSample, history: list[HealthSample]) -> tuple[str, str]:
    """Judge one sample against the earlier samples of its session (oldest first). Pure."""
    same = [s for s in history if s.bytes_in == sample.bytes_in]
    if same:
        stalled = (sample.taken_at - same[0].taken_at).total_seconds()
        if stalled >= STALL_SECONDS:
            return BAD, f"No data from the encoder for {int(stalled)} s."
    rates = [s.bitrate_kbps for s in history if s.bitrate_kbps > 0]
    if len(rates) >= MIN_AVERAGE_SAMPLES:
        average = sum(rates) / len(rates)
        if sample.bitrate_kbps < average / 2:
            return DEGRADED, f"Bitrate {sample.bitrate_kbps} kbps is under half its average ({average:.0f} kbps)."
    if sample.fps is not None and sample.source_fps and sample.fps < 0.8 * sample.source_fps:
        return DEGRADED, f"Frame rate {sample.fps:.1f} is under 80% of the source's {sample.source_fps:.0f}."
    return GOOD, ""


def _measure(stats: StreamStats, previous: HealthSample | None, history: list[HealthSample], now) -> HealthSample:
    sample = HealthSample(taken_at=now, bytes_in=stats.bytes_in, frames=stats.frames, width=stats.width,
                          height=stats.height, video_codec=stats.video_codec[:16], audio_codec=stats.audio_codec[:16],
                          clients=stats.clients, bitrate_kbps=stats.bitrate_kbps)
    seconds = (now - previous.taken_at).total_seconds() if previous is not None else 0
    if seconds > 0 and stats.bytes_in >= previous.bytes_in:
        sample.bitrate_kbps = round((stats.bytes_in - previous.bytes_in) * 8 / 1000 / seconds)
    if stats.fps is not None:  # nginx-rtmp: what the encoder declared is all it says
        sample.fps = sample.source_fps = stats.fps
    elif stats.frames is not None and previous is not None and previous.frames is not None and seconds > 0 \
            and stats.frames >= previous.frames:  # SRS: frames counted between two polls
        sample.fps = round((stats.frames - previous.frames) / seconds, 2)
        measured = [s.fps for s in history if s.fps]
        sample.source_fps = max(measured) if measured else None
    return sample


def stats_poll(*, server: MediaServer | None = None) -> list[HealthSample]:
    """Take one sample of every live stream the media server is receiving, judge each, store the
    samples in bulk and each stream's verdict. Called by the beat task every STATS_POLL_INTERVAL."""
    server = server or get_media_server()
    reported = {s.name: s for s in server.fetch_stats() if s.publishing}
    now = timezone.now()
    live = list(Stream.objects.filter(status=Stream.Status.LIVE).only("pk", "playback_id", "publisher_active",
                                                                       "interrupted_at"))
    sessions = {s.stream_id: s for s in PublishSession.objects.filter(stream__in=live, ended_at__isnull=True)}
    history = defaultdict(list)
    for old in HealthSample.objects.filter(stream__in=live, taken_at__gte=now - HISTORY).order_by("taken_at"):
        history[old.stream_id].append(old)

    samples, verdicts = [], []
    for stream in live:
        session = sessions.get(stream.pk)
        stats = reported.get(stream.playback_id)
        if stats is None or session is None:
            if stream.publisher_active and session is not None and (now - session.started_at).total_seconds() >= STALL_SECONDS:
                verdicts.append((stream.pk, BAD, "No data from the encoder: the media server does not list it.", {}))
            elif stream.interrupted_at is not None:
                verdicts.append((stream.pk, BAD, "The encoder disconnected; waiting for it to reconnect.", {}))
            continue
        past = [s for s in history[stream.pk] if s.session_id == session.pk]
        sample = _measure(stats, past[-1] if past else None, past, now)
        sample.stream_id, sample.session_id = stream.pk, session.pk
        sample.uptime_seconds = stats.uptime_seconds if stats.uptime_seconds is not None else \
            int((now - session.started_at).total_seconds())
        sample.health, sample.reason = health_verdict(sample=sample, history=past)
        samples.append(sample)
        verdicts.append((stream.pk, sample.health, sample.reason, health_sample_data(sample)))
    with transaction.atomic():
        HealthSample.objects.bulk_create(samples)
        stream_record_health(verdicts={stream_id: (health, reason, data) for stream_id, health, reason, data in verdicts})
    return samples


def health_sample_data(sample: HealthSample) -> dict:
    """A sample as the API and the realtime event show it."""
    return {"taken_at": sample.taken_at.isoformat(), "bitrate_kbps": sample.bitrate_kbps, "fps": sample.fps,
            "source_fps": sample.source_fps, "width": sample.width, "height": sample.height,
            "video_codec": sample.video_codec, "audio_codec": sample.audio_codec,
            "uptime_seconds": sample.uptime_seconds, "clients": sample.clients,
            "health": sample.health, "reason": sample.reason}


def health_samples_prune(*, now=None) -> int:
    """Delete samples older than STATS_SAMPLE_RETENTION_HOURS. Returns how many."""
    cutoff = (now or timezone.now()) - timedelta(hours=settings.STATS_SAMPLE_RETENTION_HOURS)
    deleted, _ = HealthSample.objects.filter(taken_at__lt=cutoff).delete()
    return deleted
