"""Replays: the domain's side. The media plane (streaming.replays) claims a replay and reports its
progress and outcome through these functions; the artist publishes, unpublishes and deletes it.
Files live under MEDIA_ROOT/replays/<stream id>/ (paths on the row are relative to MEDIA_ROOT)."""

import os
import shutil
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from config.exceptions import ApplicationError
from livestreams import realtime
from livestreams.models import ChatMessage, Replay, Stream
from livestreams.selectors import stream_can_manage
from livestreams.services.chat import chat_message_data
from livestreams.services.streams import stream_archive


def replay_dir(stream_id) -> Path:
    return Path(settings.MEDIA_ROOT) / "replays" / str(stream_id)


def _progress_event(replay: Replay) -> None:
    realtime.publish_on_commit(replay.stream_id, {"type": "stream:replay-progress", "status": replay.status,
                                                  "progress": round(replay.progress, 4)}, audience=realtime.STAFF)


def replay_claim(*, stream_id, stale_after: float) -> Replay | None:
    """Create the stream's replay (processing) for the caller to build, or hand back one whose
    builder went quiet for `stale_after` seconds (a worker that died mid-build). None when another
    builder has it or it is built: the stream row lock makes two concurrent sweeps agree."""
    try:
        with transaction.atomic():
            stream = Stream.objects.select_for_update().get(pk=stream_id)
            replay = Replay.objects.filter(stream=stream).first()
            if replay is None:
                if stream.status != Stream.Status.ENDED:
                    return None
                replay = Replay.objects.create(stream=stream)
                _progress_event(replay)
                return replay
            quiet_since = timezone.now() - timedelta(seconds=stale_after)
            if replay.status != Replay.Status.PROCESSING or replay.updated_at > quiet_since:
                return None
            replay.progress = 0.0
            replay.save(update_fields=["progress", "updated_at"])  # touching updated_at takes it over
            return replay
    except (Stream.DoesNotExist, IntegrityError):  # deleted meanwhile / created by a racing sweep
        return None


def replay_set_progress(*, replay: Replay, progress: float) -> None:
    replay.progress = max(0.0, min(1.0, progress))
    Replay.objects.filter(pk=replay.pk).update(progress=replay.progress, updated_at=timezone.now())
    _progress_event(replay)


@transaction.atomic
def replay_mark_ready(*, replay: Replay, video_path: str, poster_path: str, duration_seconds: float | None,
                      size_bytes: int, recorded_from=None) -> Replay:
    """The files are in place: the replay is playable and the stream moves ended -> archived."""
    replay = Replay.objects.select_for_update().get(pk=replay.pk)
    replay.status, replay.progress, replay.ready_at = Replay.Status.READY, 1.0, timezone.now()
    replay.video_path, replay.poster_path = video_path, poster_path
    replay.duration_seconds, replay.size_bytes, replay.error = duration_seconds, size_bytes, ""
    replay.recorded_from = recorded_from
    replay.save()
    _progress_event(replay)
    stream = replay.stream
    if stream.status == Stream.Status.ENDED:
        stream_archive(stream=stream)
    return replay


@transaction.atomic
def replay_mark_failed(*, replay: Replay, error: str) -> Replay:
    """The stream stays ended: there is nothing to watch."""
    replay = Replay.objects.select_for_update().get(pk=replay.pk)
    replay.status, replay.error = Replay.Status.FAILED, error[-4000:]
    replay.save(update_fields=["status", "error", "updated_at"])
    _progress_event(replay)
    return replay


@transaction.atomic
def replay_set_published(*, replay: Replay, published: bool) -> Replay:
    replay = Replay.objects.select_for_update().get(pk=replay.pk)
    if replay.published != published:
        replay.published = published
        replay.save(update_fields=["published", "updated_at"])
        realtime.publish_on_commit(replay.stream_id, {"type": "stream:replay-published", "published": published},
                                   audience=realtime.STAFF)
    return replay


@transaction.atomic
def replay_delete(*, replay: Replay) -> None:
    """Remove the row, then (once that is committed) its files. The stream stays archived. Not
    while it is being built: the stream would still be due a replay and the next sweep would
    start over."""
    replay = Replay.objects.select_for_update().get(pk=replay.pk)
    if replay.status == Replay.Status.PROCESSING:
        raise ApplicationError("The replay is still being prepared; delete it once it is ready.")
    stream_id = replay.stream_id
    Replay.objects.filter(pk=replay.pk).delete()
    folder = replay_dir(stream_id)
    transaction.on_commit(lambda: shutil.rmtree(folder, ignore_errors=True))
    realtime.publish_on_commit(stream_id, {"type": "stream:replay-deleted"}, audience=realtime.STAFF)


# --- reads (the API and the pages) ---------------------------------------------------------------

def replay_for_viewer(*, stream: Stream, user) -> Replay | None:
    """The stream's replay if `user` may watch it: ready and published for everyone who holds the
    stream's link (unlisted included: it is never listed, not secret); otherwise the artist and
    staff only. None for everyone else, as if there were none."""
    replay = Replay.objects.filter(stream=stream).first()
    if replay is None:
        return None
    if replay.status == Replay.Status.READY and replay.published:
        return replay
    return replay if stream_can_manage(stream=stream, user=user) else None


def replay_data(replay: Replay, *, manage: bool = False) -> dict:
    data = {
        "status": replay.status,
        "progress": round(replay.progress, 4),
        "playback_url": replay.playback_url if replay.status == Replay.Status.READY else None,
        "duration": replay.duration_seconds,
        "poster_url": replay.poster_url if replay.status == Replay.Status.READY else None,
        "published": replay.published,
    }
    if manage:
        data.update(size_bytes=replay.size_bytes, error=replay.error,
                    ready_at=replay.ready_at.isoformat() if replay.ready_at else None)
    return data


def replay_chat(*, stream: Stream, replay: Replay | None = None, after: float | None = None, limit: int = 200) -> dict:
    """Visible chat messages, oldest first, each with `offset`: seconds from the replay's first
    frame, else from the stream's start (what the replay's currentTime is compared with).
    `next_after` pages on; None at the end."""
    started = (replay and replay.recorded_from) or stream.started_at or stream.created_at
    qs = ChatMessage.objects.filter(stream=stream, deleted_at=None).select_related("user").order_by("created_at", "id")
    if after is not None:
        qs = qs.filter(created_at__gt=started + timedelta(seconds=after))
    page = list(qs[: limit + 1])
    more = len(page) > limit
    if more:
        # `after` is a time, not an id: a page must not end inside a run of messages sent in the
        # same microsecond, or the rest of the run would be skipped.
        first_left_out = page[limit].created_at
        page = [m for m in page[:limit] if m.created_at != first_left_out] or page[:limit]
    results = [{**chat_message_data(m, pinned=m.pk == stream.pinned_message_id),
                "offset": (m.created_at - started).total_seconds()} for m in page]
    return {"results": results, "next_after": results[-1]["offset"] if more and results else None}


def stream_disk_usage(*, stream_id) -> int:
    """Bytes the stream's media takes on disk: its relays' output (recording, ladder, thumbnails)
    and its replay. Walks the folders: for the admin, not for hot paths."""
    root = Path(settings.MEDIA_ROOT)
    total = 0
    for folder in (root / "relays" / str(stream_id), replay_dir(stream_id)):
        for dirpath, _dirs, files in os.walk(folder):
            for name in files:
                try:
                    total += os.lstat(os.path.join(dirpath, name)).st_size
                except OSError:  # removed while we walked
                    pass
    return total
