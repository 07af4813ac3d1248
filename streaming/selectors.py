"""Reads of the media plane."""

from datetime import timedelta

from django.conf import settings
from django.db.models import QuerySet
from django.utils import timezone

from livestreams.models import Stream
from streaming.models import HealthSample, PublishSession


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
