"""Every write to a Stream. Status moves go through one function per move, each of which locks
the row, checks the move against Stream.TRANSITIONS, stamps the time and publishes an event."""

import logging
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from accounts.models import User
from config.exceptions import ApplicationError, TransitionError
from livestreams import realtime
from livestreams.models import Stream
from livestreams.models.stream import new_stream_key
from livestreams.signals import publisher_revoked

logger = logging.getLogger(__name__)

EDITABLE_FIELDS = {
    "title", "description", "scheduled_at", "visibility", "chat_enabled", "reactions_enabled",
    "chat_mode", "quality_preset", "record", "thumbnail_url", "thumbnail",
}
# Settings a watching browser must learn about at once.
LIVE_SETTINGS = ("chat_enabled", "reactions_enabled", "chat_mode", "slow_mode_seconds")
# How far in the past a schedule may be: clocks drift and forms take time to submit.
SCHEDULE_GRACE = timedelta(minutes=1)


def _check_schedule(scheduled_at) -> None:
    if scheduled_at is not None and scheduled_at < timezone.now() - SCHEDULE_GRACE:
        raise ApplicationError("The schedule is in the past.", {"scheduled_at": ["Must be in the future."]})


def stream_create(*, artist: User, title: str, **fields) -> Stream:
    if not artist.is_artist:
        raise ApplicationError("Only artists can create streams.")
    unknown = set(fields) - EDITABLE_FIELDS
    if unknown:
        raise ApplicationError(f"Unknown fields: {', '.join(sorted(unknown))}.")
    _check_schedule(fields.get("scheduled_at"))
    stream = Stream(artist=artist, title=title, **fields)
    stream.full_clean()
    stream.save()
    return stream


@transaction.atomic
def stream_update(*, stream: Stream, data: dict) -> Stream:
    """Change a stream's editable fields. Called by the owner's PATCH and the studio form."""
    stream = Stream.objects.select_for_update().get(pk=stream.pk)
    unknown = set(data) - EDITABLE_FIELDS
    if unknown:
        raise ApplicationError(f"Unknown fields: {', '.join(sorted(unknown))}.")
    if stream.status in (Stream.Status.ARCHIVED, Stream.Status.CANCELLED) and data:
        raise TransitionError(f"A {stream.status} stream cannot be edited.")
    if "scheduled_at" in data:
        if stream.status not in (Stream.Status.SCHEDULED, Stream.Status.PREPARING):
            raise TransitionError("Only a stream that has not started can be rescheduled.")
        _check_schedule(data["scheduled_at"])
    before = {name: getattr(stream, name) for name in LIVE_SETTINGS}
    changed = [name for name, value in data.items() if getattr(stream, name) != value]
    for name in changed:
        setattr(stream, name, data[name])
    if not changed:
        return stream
    stream.full_clean()
    stream.save(update_fields=[*changed, "updated_at"])
    after = {name: getattr(stream, name) for name in LIVE_SETTINGS}
    if after != before:
        realtime.publish_on_commit(stream.pk, {"type": "stream:settings", **after})
    return stream


def _move(stream: Stream, to: str, *, stamp: str | None = None, now=None) -> Stream:
    """Lock, check and apply one status move. Callers hold the transaction."""
    stream = Stream.objects.select_for_update().get(pk=stream.pk)
    if not stream.can_become(to):
        raise TransitionError(f"Stream is {stream.status}; it cannot become {to}.", {"status": stream.status})
    stream.status = to
    fields = ["status", "updated_at"]
    if stamp:
        setattr(stream, stamp, now or timezone.now())
        fields.append(stamp)
    stream.save(update_fields=fields)
    return stream


def _status_event(stream: Stream) -> None:
    realtime.publish_on_commit(stream.pk, {"type": "stream:status", "status": stream.status})


@transaction.atomic
def stream_prepare(*, stream: Stream) -> Stream:
    """scheduled -> preparing: the artist is getting ready; the encoder may connect any time."""
    stream = _move(stream, Stream.Status.PREPARING)
    _status_event(stream)
    return stream


@transaction.atomic
def stream_go_live(*, stream: Stream, client_id: str = "") -> Stream:
    """scheduled|preparing -> live. Called when the media server accepts a publish, or by the
    artist's start while an encoder is already connected."""
    stream = _move(stream, Stream.Status.LIVE, stamp="started_at")
    stream.publisher_active = True
    stream.publisher_client_id = client_id or stream.publisher_client_id
    stream.interrupted_at = None
    stream.save(update_fields=["publisher_active", "publisher_client_id", "interrupted_at"])
    realtime.publish_on_commit(
        stream.pk,
        {"type": "stream:start", "status": stream.status, "started_at": stream.started_at.isoformat(),
         "hls_url": stream.hls_url},
    )
    return stream


@transaction.atomic
def stream_start(*, stream: Stream) -> Stream:
    """The artist's "start": live at once when the encoder is already sending, otherwise
    preparing, and the encoder's publish makes it live."""
    locked = Stream.objects.select_for_update().get(pk=stream.pk)
    if locked.publisher_active:
        return stream_go_live(stream=locked)
    return stream_prepare(stream=locked)


@transaction.atomic
def stream_end(*, stream: Stream, reason: str = "ended", at=None) -> Stream:
    """live -> ended. Called by the artist's stop, staff, or the reconnect-window task, which
    passes `at`: the moment the encoder left, not the moment the window closed. The encoder, if
    still connected, is kicked after commit by the media plane."""
    stream = _move(stream, Stream.Status.ENDED, stamp="ended_at", now=at)
    client_id, was_publishing = stream.publisher_client_id, stream.publisher_active
    stream.publisher_active, stream.interrupted_at, stream.viewer_count = False, None, 0
    stream.save(update_fields=["publisher_active", "interrupted_at", "viewer_count"])
    realtime.publish_on_commit(
        stream.pk,
        {"type": "stream:end", "status": stream.status, "ended_at": stream.ended_at.isoformat(), "reason": reason},
    )
    if was_publishing:
        stream_id, playback_id = stream.pk, stream.playback_id
        transaction.on_commit(
            lambda: publisher_revoked.send(
                sender=Stream, stream_id=stream_id, playback_id=playback_id, client_id=client_id
            )
        )
    return stream


@transaction.atomic
def stream_archive(*, stream: Stream) -> Stream:
    """ended -> archived: its replay has been published."""
    stream = _move(stream, Stream.Status.ARCHIVED, stamp="archived_at")
    _status_event(stream)
    return stream


@transaction.atomic
def stream_cancel(*, stream: Stream) -> Stream:
    """scheduled|preparing -> cancelled."""
    stream = _move(stream, Stream.Status.CANCELLED, stamp="cancelled_at")
    _status_event(stream)
    return stream


@transaction.atomic
def stream_rotate_key(*, stream: Stream) -> Stream:
    """Issue a new publish key. The old one stops working for every future publish; an encoder
    already connected keeps its session (kicking it is the artist's separate choice)."""
    stream = Stream.objects.select_for_update().get(pk=stream.pk)
    if stream.status in (Stream.Status.ENDED, Stream.Status.ARCHIVED, Stream.Status.CANCELLED):
        raise TransitionError(f"Stream is {stream.status}; its key can no longer be used.", {"status": stream.status})
    stream.stream_key, stream.key_rotated_at = new_stream_key(), timezone.now()
    stream.save(update_fields=["stream_key", "key_rotated_at", "updated_at"])
    logger.info("stream %s: publish key rotated", stream.pk)
    return stream


@transaction.atomic
def stream_mark_interrupted(*, stream: Stream) -> Stream:
    """The encoder went away while live: the reconnect window opens. Idempotent."""
    stream = Stream.objects.select_for_update().get(pk=stream.pk)
    if not stream.is_live or stream.interrupted_at is not None:
        return stream
    stream.publisher_active, stream.interrupted_at = False, timezone.now()
    stream.save(update_fields=["publisher_active", "interrupted_at", "updated_at"])
    realtime.publish_on_commit(
        stream.pk, {"type": "stream:interrupted", "interrupted_at": stream.interrupted_at.isoformat()}
    )
    return stream


@transaction.atomic
def stream_mark_resumed(*, stream: Stream, client_id: str = "") -> Stream:
    """The encoder came back inside the reconnect window: the same stream carries on."""
    stream = Stream.objects.select_for_update().get(pk=stream.pk)
    if not stream.is_live:
        raise TransitionError(f"Stream is {stream.status}; it cannot resume.", {"status": stream.status})
    was_interrupted = stream.interrupted_at is not None
    stream.publisher_active, stream.interrupted_at = True, None
    stream.publisher_client_id = client_id or stream.publisher_client_id
    stream.save(update_fields=["publisher_active", "interrupted_at", "publisher_client_id", "updated_at"])
    if was_interrupted:
        realtime.publish_on_commit(stream.pk, {"type": "stream:resumed", "hls_url": stream.hls_url})
    return stream


@transaction.atomic
def stream_set_abr(*, stream: Stream, active: bool) -> Stream:
    """Serve the stream from its transcode ladder's master playlist (active) or from the media
    server's own playlist. Called by the media plane as its ladder starts and stops; open players
    switch on the `stream:settings` event's `hls_url`. Idempotent."""
    stream = Stream.objects.select_for_update().get(pk=stream.pk)
    if stream.abr_active == active:
        return stream
    stream.abr_active = active
    stream.save(update_fields=["abr_active", "updated_at"])
    if stream.is_live:
        realtime.publish_on_commit(stream.pk, {"type": "stream:settings", "abr_active": active,
                                               "hls_url": stream.hls_url})
    return stream


@transaction.atomic
def stream_set_generated_thumbnail(*, stream: Stream, url: str) -> Stream:
    """Use a frame grabbed from the broadcast as the stream's picture, unless the artist chose one
    (an uploaded file or a URL of their own)."""
    stream = Stream.objects.select_for_update().get(pk=stream.pk)
    if stream.thumbnail or stream.thumbnail_url:
        return stream
    stream.thumbnail_url = url
    stream.save(update_fields=["thumbnail_url", "updated_at"])
    return stream
