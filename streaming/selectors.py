"""Reads of the media plane."""

from datetime import timedelta

from django.conf import settings
from django.db.models import QuerySet
from django.utils import timezone

from livestreams.models import Stream
from streaming.models import HealthSample, PublishSession, RestreamDestination


def reconnect_window() -> timedelta:
    return timedelta(seconds=settings.INGEST_RECONNECT_WINDOW)


def stream_window_is_open(*, stream: Stream, now=None) -> bool:
    """Whether an interrupted live stream may still take its encoder back."""
    if stream.interrupted_at is None:
        return True
    return (now or timezone.now()) - stream.interrupted_at < reconnect_window()


def streams_with_expired_window(*, now=None) -> QuerySet[Stream]:
    """Live streams whose encoder left longer ago than the reconnect window."""
    cutoff = (now or timezone.now()) - reconnect_window()
    return Stream.objects.filter(status=Stream.Status.LIVE, publisher_active=False, interrupted_at__lte=cutoff)


def publish_session_open(*, stream_id) -> PublishSession | None:
    return PublishSession.objects.filter(stream_id=stream_id, ended_at__isnull=True).first()


def health_samples_recent(*, stream_id, limit: int = 60) -> list[HealthSample]:
    return list(HealthSample.objects.filter(stream_id=stream_id).order_by("-taken_at")[:limit])


def restream_destination_list(*, artist) -> QuerySet[RestreamDestination]:
    return RestreamDestination.objects.filter(artist=artist).order_by("name")


def restream_destination_get(*, artist, destination_id) -> RestreamDestination | None:
    """The artist's own destination, or None (another artist's is as unknown as a missing one)."""
    try:
        pk = int(destination_id)
    except (TypeError, ValueError):
        return None
    if not 0 < pk < 2**31:  # the database would raise an overflow, not answer "none"
        return None
    return RestreamDestination.objects.filter(artist=artist, pk=pk).first()


def restream_destination_ids_for_stream(*, stream: Stream) -> list[int]:
    return list(stream.restream_destinations.order_by("name").values_list("pk", flat=True))
