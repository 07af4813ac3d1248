from django.core.exceptions import ValidationError
from django.db.models import F, Q, QuerySet

from accounts.models import User
from livestreams.models import Stream


def stream_queryset() -> QuerySet[Stream]:
    # Everything a serializer or page touches, in one query.
    return Stream.objects.select_related("artist", "artist__channel")


def stream_list_public() -> QuerySet[Stream]:
    """What fans browse: public streams. Unlisted ones are reachable only by their link."""
    return stream_queryset().filter(visibility=Stream.Visibility.PUBLIC)


def stream_list_for_artist(*, artist: User) -> QuerySet[Stream]:
    return stream_queryset().filter(artist=artist)


def stream_get(*, stream_id) -> Stream | None:
    """A stream anyone holding its id may see (public or unlisted)."""
    try:
        return stream_queryset().get(pk=stream_id)
    except (Stream.DoesNotExist, ValueError, TypeError, ValidationError):  # ValidationError: not a UUID
        return None


def stream_can_manage(*, stream: Stream, user: User) -> bool:
    """Owner or staff: may see the key, change settings and move the status."""
    return user.is_authenticated and (stream.artist_id == user.pk or user.is_staff)


# --- Page lists (livestreams/views.py, livestreams/channel_views.py, studio) -----------------------

def stream_list_upcoming(streams: QuerySet[Stream]) -> QuerySet[Stream]:
    """Scheduled (or preparing) streams, soonest first; unscheduled ones last."""
    return streams.filter(status__in=[Stream.Status.SCHEDULED, Stream.Status.PREPARING]).order_by(
        F("scheduled_at").asc(nulls_last=True), "created_at")


def stream_list_recent(streams: QuerySet[Stream]) -> QuerySet[Stream]:
    """Past streams (ended or with a replay), latest first."""
    return streams.filter(status__in=[Stream.Status.ENDED, Stream.Status.ARCHIVED]).order_by(
        F("ended_at").desc(nulls_last=True))


def stream_search(streams: QuerySet[Stream], *, query: str) -> QuerySet[Stream]:
    """Title, description or artist name contains `query` (case-insensitive)."""
    return streams.filter(
        Q(title__icontains=query) | Q(description__icontains=query)
        | Q(artist__channel__display_name__icontains=query) | Q(artist__channel__slug__icontains=query)
    )
