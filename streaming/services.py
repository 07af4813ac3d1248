"""Writes of the media plane: publish sessions, the reconnect window, kicks, reconciliation.

Stream status only moves through livestreams services; this module decides *when* (the media
server said so) and keeps the session history that makes duplicate and out-of-order callbacks
harmless: every callback locks the stream row first, and an unpublish only counts when it names
the connection that is publishing now.
"""

import logging
import secrets
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from config.exceptions import TransitionError
from livestreams.models import Stream
from livestreams.services import stream_end, stream_go_live, stream_mark_interrupted, stream_mark_resumed
from streaming.media_servers import IngestEvent, MediaServer, get_media_server
from streaming.models import PublishSession
from streaming.selectors import publish_session_open, stream_window_is_open, streams_with_expired_window

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Decision:
    allowed: bool
    reason: str = ""


ALLOW = Decision(True)


def _locked_stream(name: str) -> Stream | None:
    return Stream.objects.select_for_update().filter(playback_id=name).first()


def _close_session(session: PublishSession | None, reason: str, now=None) -> None:
    if session is not None and session.ended_at is None:
        session.ended_at, session.end_reason = now or timezone.now(), reason
        session.save(update_fields=["ended_at", "end_reason", "updated_at"])


@transaction.atomic
def ingest_publish(*, event: IngestEvent, media_server: str) -> Decision:
    """The media server asks whether an encoder may publish. Called by the callback view.

    Allowed when the app is ours, the playback id and key match a stream that is scheduled,
    preparing, or live inside its reconnect window, and no other encoder is publishing on it.
    A refusal writes nothing.
    """
    if event.app != settings.RTMP_APP:
        return Decision(False, "unknown application")
    stream = _locked_stream(event.name)
    # Compare even when the stream is unknown, so both refusals cost the same.
    expected = stream.stream_key if stream is not None else "-" * 43
    if not secrets.compare_digest(expected.encode(), event.key.encode()) or stream is None:
        return Decision(False, "unknown stream or wrong key")
    now = timezone.now()
    open_session = publish_session_open(stream_id=stream.pk)
    if stream.status in (Stream.Status.SCHEDULED, Stream.Status.PREPARING):
        _close_session(open_session, PublishSession.EndReason.MISSING, now)
        stream_go_live(stream=stream, client_id=event.client_id)
        resumed = False
    elif stream.status == Stream.Status.LIVE:
        if stream.publisher_active:
            if open_session is not None and open_session.client_id == event.client_id:
                return ALLOW  # the same publish, asked twice
            # If the media server restarted, the encoder the database remembers is gone and this is
            # its retry: reconciliation (one stats request, after commit) opens the reconnect window
            # so the next retry resumes, instead of waiting for the periodic pass.
            transaction.on_commit(_reconcile_soon)
            return Decision(False, "another encoder is publishing on this stream")
        if not stream_window_is_open(stream=stream, now=now):
            return Decision(False, "the reconnect window has closed")
        _close_session(open_session, PublishSession.EndReason.MISSING, now)
        stream_mark_resumed(stream=stream, client_id=event.client_id)
        resumed = True
    else:
        return Decision(False, f"the stream is {stream.status}")
    PublishSession.objects.create(stream=stream, media_server=media_server, client_id=event.client_id,
                                  remote_addr=event.addr[:64], resumed=resumed, started_at=now)
    logger.info("stream %s: publish accepted from client %s (%s)", stream.pk, event.client_id,
                "resumed" if resumed else "live")
    return ALLOW


@transaction.atomic
def ingest_unpublish(*, event: IngestEvent) -> None:
    """The media server says an encoder stopped. Called by the callback view; idempotent.

    Only the connection that is publishing now interrupts the stream: a duplicate, the done of a
    refused publish, or a late unpublish of a session that a resume already replaced change nothing.
    """
    stream = _locked_stream(event.name)
    if stream is None:
        return
    session = PublishSession.objects.filter(stream=stream, client_id=event.client_id, ended_at__isnull=True).first()
    if session is None:
        return
    _close_session(session, PublishSession.EndReason.UNPUBLISHED)
    if stream.is_live and stream.publisher_active and stream.publisher_client_id == event.client_id:
        stream_mark_interrupted(stream=stream)
        _schedule_window_close(stream.pk)
    logger.info("stream %s: client %s stopped publishing", stream.pk, event.client_id)


def _reconcile_soon() -> None:
    from streaming.tasks import ingest_reconcile_task

    ingest_reconcile_task.delay()


def _schedule_window_close(stream_id) -> None:
    from streaming.tasks import ingest_end_if_window_closed_task

    countdown = settings.INGEST_RECONNECT_WINDOW + 1
    # The periodic sweep (ingest_close_expired_windows) closes the window too: this is only the
    # prompt path, and it does nothing when it runs early (eager Celery ignores countdowns).
    transaction.on_commit(lambda: ingest_end_if_window_closed_task.apply_async(
        kwargs={"stream_id": str(stream_id)}, countdown=countdown))


@transaction.atomic
def ingest_end_if_window_closed(*, stream_id) -> bool:
    """End a live stream whose encoder did not come back within the window. True if it ended.
    Called by the delayed task and by the periodic sweep; a no-op in every other case."""
    stream = Stream.objects.select_for_update().filter(pk=stream_id).first()
    if stream is None or not stream.is_live or stream.publisher_active or stream.interrupted_at is None:
        return False
    if stream_window_is_open(stream=stream):
        return False
    _close_session(publish_session_open(stream_id=stream.pk), PublishSession.EndReason.MISSING)
    stream_end(stream=stream, reason="encoder did not reconnect", at=stream.interrupted_at)
    logger.info("stream %s: ended, the encoder did not reconnect in time", stream.pk)
    return True


def ingest_close_expired_windows() -> int:
    """End every stream whose reconnect window has passed. Returns how many ended."""
    ended = 0
    for stream_id in list(streams_with_expired_window().values_list("pk", flat=True)):
        try:
            ended += ingest_end_if_window_closed(stream_id=stream_id)
        except TransitionError:  # ended by someone else meanwhile
            pass
    return ended


def ingest_kick_publisher(*, stream_id, playback_id: str, client_id: str = "",
                          server: MediaServer | None = None) -> bool:
    """Drop the encoder of a stream that may no longer publish (ended by the artist or staff, or
    found publishing without the database's leave). Closes its session first, so the unpublish
    that follows the kick changes nothing."""
    with transaction.atomic():
        session = PublishSession.objects.select_for_update().filter(
            stream_id=stream_id, ended_at__isnull=True).first()
        _close_session(session, PublishSession.EndReason.KICKED)
    kicked = (server or get_media_server()).kick_publisher(stream_name=playback_id, client_id=client_id)
    logger.info("stream %s: publisher %s %s", stream_id, client_id or "(any)", "dropped" if kicked else "already gone")
    return kicked


def ingest_reconcile(*, server: MediaServer | None = None) -> dict:
    """Make the database and the media server agree. Called periodically.

    - live streams whose encoder the server no longer has (a missed unpublish, a server restart)
      are interrupted, so the reconnect window runs and then ends them;
    - windows that have passed are closed;
    - publishers the database does not allow (stream ended in admin, another client) are kicked.
    One request to the media server.
    """
    server = server or get_media_server()
    fetched_at = timezone.now()
    publishing = {s.name: s for s in server.fetch_stats() if s.publishing}
    result = {"interrupted": 0, "ended": 0, "kicked": 0}
    # Read the database after the server: a publish it lists was committed before it answered.
    allowed = {
        s.playback_id: s for s in Stream.objects.filter(status=Stream.Status.LIVE, publisher_active=True)
        .only("pk", "playback_id", "publisher_client_id", "status", "publisher_active")
    }
    started = dict(PublishSession.objects.filter(stream__in=allowed.values(), ended_at__isnull=True)
                   .values_list("stream__playback_id", "started_at"))
    for name, stream in allowed.items():
        if name in publishing:
            continue
        if started.get(name) is not None and started[name] >= fetched_at:
            continue  # accepted after the server answered
        with transaction.atomic():
            locked = Stream.objects.select_for_update().get(pk=stream.pk)
            if locked.is_live and locked.publisher_active:
                _close_session(publish_session_open(stream_id=locked.pk), PublishSession.EndReason.MISSING)
                stream_mark_interrupted(stream=locked)
                result["interrupted"] += 1
        logger.warning("stream %s: live but the media server has no publisher; reconnect window opened", stream.pk)
    result["ended"] = ingest_close_expired_windows()
    for name, stats in publishing.items():
        stream = allowed.get(name)
        if stream is not None and (not stream.publisher_client_id or stream.publisher_client_id == stats.client_id):
            continue
        owner = Stream.objects.filter(playback_id=name).values_list("pk", flat=True).first()
        try:
            server.kick_publisher(stream_name=name, client_id=stats.client_id)
            result["kicked"] += 1
        except Exception:  # noqa: BLE001 - one failed kick must not stop the others
            logger.exception("stream %s: could not drop publisher %s", owner, stats.client_id)
            continue
        if owner is not None:
            with transaction.atomic():
                _close_session(PublishSession.objects.select_for_update().filter(
                    stream_id=owner, client_id=stats.client_id, ended_at__isnull=True).first(),
                    PublishSession.EndReason.KICKED)
        logger.warning("stream %s: dropped publisher %s the database does not allow", owner, stats.client_id)
    return result
