"""The relay supervisor: reconcile what should run (derived from the streams) with what runs.

`relays_reconcile()` is one pass, run by Celery beat every RELAYS_RECONCILE_INTERVAL seconds and
right after a stream ends. For each relay it takes the row lock and then decides, from the row
and from /proc alone:

    should not run  -> terminate its process (if any) and mark it stopped
    alive           -> refresh progress, error tail and heartbeat; "starting" becomes "running"
                       once FFmpeg reports progress (it opened its input and output)
    died            -> count a failure; back off 1, 2, 4 ... s (capped), or mark it failed with
                       FFmpeg's last error lines after RELAYS_MAX_FAILURES failures in a row
    due to start    -> spawn FFmpeg (detached) and record its identity in the same transaction

Why this cannot run a relay twice, and why a worker restart loses nothing:

* The process identity is (host, pid, start ticks): the start time from /proc/<pid>/stat makes a
  recycled pid harmless. A pass checks that identity *before* it starts anything, and it does so
  under the row lock (select_for_update; SQLite serialises writers instead, the transactions are
  IMMEDIATE), so two passes (two workers, beat plus the on-end task) never both decide to start.
  `skip_locked`: a pass that finds a relay locked leaves it to the pass holding it.
* There is no in-memory state: no thread, no pipe, no Popen object is needed to know whether a
  relay runs. FFmpeg runs in its own session and writes progress and errors to files, so when the
  Celery worker dies its relays keep running and the next pass, in any worker, adopts them by
  the recorded identity. That is the lease: the row is the lease, /proc is its heartbeat on this
  host, and `heartbeat_at` says when a supervisor last saw it alive.
* Between spawn() and the commit that records the pid, a crash would orphan a process. The
  identity is therefore also written to a pidfile next to the outputs first; a relay whose row
  names no process looks there before it starts one.
* Only the host that runs a process can see it in /proc. A relay owned by another host is left
  alone while that host's heartbeat is fresh (RELAYS_HOST_STALE_SECONDS); after that the host is
  presumed gone and the relay is restarted here.

Outputs live in MEDIA_ROOT/relays/<stream id>/<kind>/ (restream relays: .../restream-<destination
id>/), which the media server serves; FFmpeg's log, progress file and the pidfile live in the same
layout under RELAYS_WORK_ROOT, which nothing serves.

After each pass over a relay the supervisor also tells the rest of Backline what it saw: the
stream's staff get a `stream:relay-update` event when the state changes (and at most once a
second per stream while relays run); a running ladder with its master playlist written switches
the stream's playback to it (livestreams.services.stream_set_abr) and back when it stops; the
first grabbed thumbnail becomes the stream's picture when the artist chose none.
"""

import logging
import socket
import time
from datetime import timedelta
from pathlib import Path
from urllib.parse import quote

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from livestreams import realtime
from livestreams.models import Stream
from livestreams.services import stream_set_abr, stream_set_generated_thumbnail
from streaming import ffmpeg
from streaming.models import HealthSample, Relay, RestreamDestination

logger = logging.getLogger(__name__)

LOG_NAME, PROGRESS_NAME, PIDFILE_NAME = "ffmpeg.log", "progress.log", "relay.pid"
MASTER_NAME, THUMBNAIL_NAME = "master.m3u8", "thumbnail.jpg"
# Staff panels need live progress, not one event per pass (beat may run several a second): while
# it runs, a relay's progress goes out at most once a second. State changes go out at once.
RELAY_UPDATE_MIN_INTERVAL = 1.0
_last_update: dict = {}  # relay id -> monotonic time of its last relay-update (this process)


def relays_reconcile(*, stream_id=None) -> None:
    """One supervisor pass over every relay (or one stream's). Called by relays_reconcile_task;
    safe to run concurrently with itself: each relay is handled under its row lock."""
    relays_ensure(stream_id=stream_id)
    relays = Relay.objects.filter(Q(state__in=Relay.ACTIVE_STATES) | Q(stream__status=Stream.Status.LIVE))
    if stream_id is not None:
        relays = relays.filter(stream_id=stream_id)
    for relay_id in relays.values_list("pk", flat=True):
        try:
            relay_reconcile(relay_id=relay_id)
        except Exception:  # one broken relay must not stop the others from being supervised
            logger.exception("relay %s: reconciliation failed", relay_id)


def relays_ensure(*, stream_id=None) -> None:
    """A row for every relay that applies to a live stream: record when recording is on,
    thumbnail always, transcode when a ladder preset is chosen, one restream per enabled
    destination that picked the stream. Rows are never deleted here: a stopped row keeps its history."""
    streams = Stream.objects.filter(status=Stream.Status.LIVE)
    if stream_id is not None:
        streams = streams.filter(pk=stream_id)
    wanted = set()
    for pk, record, preset in streams.values_list("pk", "record", "quality_preset"):
        wanted.add((pk, Relay.Kind.THUMBNAIL, None))
        if record:
            wanted.add((pk, Relay.Kind.RECORD, None))
        if preset != Stream.QualityPreset.SOURCE:
            wanted.add((pk, Relay.Kind.TRANSCODE, None))
    if not wanted:
        return
    live = {pk for pk, _, _ in wanted}
    picks = RestreamDestination.streams.through.objects.filter(stream_id__in=live, restreamdestination__enabled=True)
    wanted |= {(pk, Relay.Kind.RESTREAM, dest) for pk, dest in picks.values_list("stream_id", "restreamdestination_id")}
    existing = set(Relay.objects.filter(stream_id__in=live).values_list("stream_id", "kind", "destination_id"))
    Relay.objects.bulk_create([Relay(stream_id=pk, kind=kind, destination_id=dest) for pk, kind, dest in wanted - existing],
                              ignore_conflicts=True)  # a concurrent pass may have created them


@transaction.atomic
def relay_reconcile(*, relay_id: int) -> Relay | None:
    """Bring one relay to its desired state, then publish what changed (see the module's doc).
    Takes the row lock; returns None when another pass holds it."""
    relay = (Relay.objects.select_for_update(skip_locked=True, of=("self",)).select_related("stream", "destination")
             .filter(pk=relay_id).first())
    if relay is None:
        return None
    before = relay.state
    relay = _reconcile(relay)
    _announce(relay, changed=relay.state != before)
    return relay


def _reconcile(relay: Relay) -> Relay:
    now = timezone.now()
    if relay.pid and relay.host and relay.host != _hostname():
        stale = now - timedelta(seconds=settings.RELAYS_HOST_STALE_SECONDS)
        if relay.heartbeat_at and relay.heartbeat_at > stale:
            return relay  # its host's workers supervise it
        _forget_process(relay)  # that host is gone, and its processes with it
    handle = _adopt(relay)
    alive = handle is not None

    if not relay.should_run:
        if alive:
            # FFmpeg honours SIGTERM between packets only: one whose publisher has left blocks in
            # its read (until -rw_timeout) and is killed after the grace period. A recording then
            # loses its unfinished segment, like in a crash; every listed segment stays playable.
            # (A second SIGTERM would abort the blocking read, but also FFmpeg's final playlist
            # write, leaving it empty.)
            ffmpeg.terminate(handle, grace=settings.RELAYS_STOP_GRACE)
        if relay.state in Relay.ACTIVE_STATES or relay.pid:
            _observe(relay, now)
            _forget_process(relay)
            relay.state, relay.next_attempt_at = Relay.State.STOPPED, None
            relay.save()
        return relay

    if alive:
        _observe(relay, now)
        if relay.last_progress and relay.state != Relay.State.RUNNING:
            relay.state, relay.consecutive_failures, relay.next_attempt_at = Relay.State.RUNNING, 0, None
        elif relay.state not in Relay.ACTIVE_STATES:  # adopted a process the row had lost
            relay.state = Relay.State.STARTING
        relay.save()
        return relay

    if relay.state == Relay.State.FAILED:
        return relay
    if relay.pid:  # it had a process and the process is gone
        _observe(relay, now)
        _forget_process(relay)
        relay.consecutive_failures += 1
        if relay.consecutive_failures >= settings.RELAYS_MAX_FAILURES:
            relay.state, relay.next_attempt_at = Relay.State.FAILED, None
            relay.failure_reason = relay.error_tail or f"FFmpeg exited {relay.consecutive_failures} times in a row"
            logger.warning("relay %s failed: %s", relay.pk, relay.failure_reason)
        else:
            delay = min(settings.RELAYS_BACKOFF_BASE * 2 ** (relay.consecutive_failures - 1),
                        settings.RELAYS_BACKOFF_MAX)
            relay.state, relay.next_attempt_at = Relay.State.BACKING_OFF, now + timedelta(seconds=delay)
        relay.save()
        return relay
    if relay.state == Relay.State.BACKING_OFF and relay.next_attempt_at and now < relay.next_attempt_at:
        return relay

    if relay.state == Relay.State.BACKING_OFF:
        relay.restart_count += 1
    else:  # a fresh start (the relay was stopped)
        relay.consecutive_failures, relay.failure_reason, relay.error_tail = 0, "", ""
    _start(relay, now)
    relay.save()
    return relay


def relays_for_stream(*, stream_id) -> list[Relay]:
    """A stream's relays, for the API and the studio."""
    return list(Relay.objects.filter(stream_id=stream_id).order_by("kind"))


def relay_input_url(stream: Stream) -> str:
    """Where relays read the live stream: the media server on loopback, by playback id."""
    return settings.RELAYS_INPUT_URL.format(playback_id=stream.playback_id)


def relay_command(relay: Relay) -> list[str]:
    out_dir, input_url = relay.output_dir, relay_input_url(relay.stream)
    progress_path = relay.work_dir / PROGRESS_NAME
    if relay.kind == Relay.Kind.TRANSCODE:
        height, kbps, fps = _source_format(relay.stream, input_url)
        return ffmpeg.transcode_command(input_url, out_dir, ffmpeg.ladder_for(relay.stream.quality_preset, height, kbps),
                                        fps=round(fps or 30), progress_path=progress_path)
    if relay.kind == Relay.Kind.RESTREAM:
        return ffmpeg.restream_command(input_url, relay.destination.publish_url, progress_path=progress_path)
    if relay.kind == Relay.Kind.RECORD:
        return ffmpeg.record_command(input_url, out_dir, progress_path=progress_path,
                                     segment_seconds=settings.RELAYS_RECORD_SEGMENT_SECONDS)
    if relay.kind == Relay.Kind.THUMBNAIL:
        return ffmpeg.thumbnail_command(input_url, out_dir / THUMBNAIL_NAME, progress_path=progress_path,
                                        every_seconds=settings.RELAYS_THUMBNAIL_INTERVAL)
    raise ValueError(f"unknown relay kind {relay.kind}")


def relay_event(relay: Relay) -> dict:
    """The `stream:relay-update` event the control room listens to. Keep the shape."""
    destination = relay.destination
    return {"type": "stream:relay-update", "relay": {
        "id": relay.pk, "kind": relay.kind, "state": relay.state, "restarts": relay.restart_count,
        "progress": relay.last_progress, "failure_reason": relay.failure_reason,
        "destination_id": relay.destination_id, "destination_name": destination.name if destination else None,
        "started_at": relay.started_at.isoformat() if relay.started_at else None,
    }}


def _source_format(stream: Stream, input_url: str) -> tuple[int | None, int | None, float | None]:
    """(height, kbit/s, fps) of what the encoder sends: the stats poller's latest sample, else a
    short ffprobe of the relay input (a stream live for under one poll interval)."""
    sample = (HealthSample.objects.filter(stream=stream, height__isnull=False).order_by("-taken_at")
              .values_list("height", "bitrate_kbps", "source_fps", "fps").first())
    if sample:
        height, kbps, source_fps, fps = sample
        return height, kbps or None, source_fps or fps
    return ffmpeg.probe_source(input_url, timeout=3.0)


def relay_handle(relay: Relay) -> ffmpeg.ProcessHandle | None:
    if not relay.pid or relay.start_ticks is None:
        return None
    return ffmpeg.ProcessHandle(relay.pid, relay.start_ticks)


# --- helpers; all called under the row lock ------------------------------------------------------

def _hostname() -> str:
    return socket.gethostname()


def _adopt(relay: Relay) -> ffmpeg.ProcessHandle | None:
    """The relay's live process on this host, from the row or else from its pidfile; None if none."""
    handle = relay_handle(relay)
    if handle is not None and ffmpeg.is_alive(handle):
        return handle
    if handle is None:
        pidfile = relay.work_dir / PIDFILE_NAME
        try:
            pid, ticks = (int(x) for x in pidfile.read_text().split())
        except (FileNotFoundError, ValueError):
            return None
        orphan = ffmpeg.ProcessHandle(pid, ticks)
        if ffmpeg.is_alive(orphan):
            logger.warning("relay %s: adopting pid %s from its pidfile", relay.pk, pid)
            relay.pid, relay.start_ticks, relay.host = pid, ticks, _hostname()
            return orphan
    return None


def _observe(relay: Relay, now) -> None:
    work = relay.work_dir
    progress = ffmpeg.read_progress(work / PROGRESS_NAME)
    if progress:
        relay.last_progress = progress
    relay.error_tail = _redact(relay, ffmpeg.error_tail(work / LOG_NAME))
    relay.heartbeat_at = now


def _redact(relay: Relay, text: str) -> str:
    """A restream destination's key never reaches the row (the API, the staff panel, the logs)."""
    key = relay.destination.stream_key if relay.destination_id and relay.destination else ""
    if key:
        for form in {key, quote(key, safe=""), quote(key)}:
            text = text.replace(form, relay.destination.masked_key)
    return text


def _announce(relay: Relay, *, changed: bool) -> None:
    """What the rest of Backline learns from this pass: staff panels, the ladder, the thumbnail."""
    stream, now = relay.stream, time.monotonic()
    running = relay.state in Relay.ACTIVE_STATES
    if changed or (running and now - _last_update.get(relay.pk, 0) >= RELAY_UPDATE_MIN_INTERVAL):
        _last_update[relay.pk] = now
        realtime.publish_on_commit(stream.pk, relay_event(relay), audience=realtime.STAFF)
    if not running:
        _last_update.pop(relay.pk, None)
    if relay.kind == Relay.Kind.TRANSCODE:
        serving = relay.state == Relay.State.RUNNING and stream.is_live and _ladder_ready(relay.output_dir)
        if serving != stream.abr_active:
            relay.stream = stream_set_abr(stream=stream, active=serving)
    elif (relay.kind == Relay.Kind.THUMBNAIL and not stream.thumbnail and not stream.thumbnail_url
          and (relay.output_dir / THUMBNAIL_NAME).exists()):
        url = f"{settings.MEDIA_PUBLIC_URL}relays/{stream.pk}/thumbnail/{THUMBNAIL_NAME}"
        relay.stream = stream_set_generated_thumbnail(stream=stream, url=url)


def _ladder_ready(out_dir: Path, min_segments: int = 3) -> bool:
    """The master playlist is written and every rendition lists a few segments. Players switched
    any earlier may start on the transcoder's first segment, which can hold audio only (the video
    encoder's start-up), and then never set up their video."""
    try:
        master = (out_dir / MASTER_NAME).read_text()
        variants = [line for line in master.splitlines() if line and not line.startswith("#")]
        return bool(variants) and all((out_dir / v).read_text().count("#EXTINF") >= min_segments for v in variants)
    except OSError:
        return False


def _forget_process(relay: Relay) -> None:
    relay.pid = relay.start_ticks = None
    (relay.work_dir / PIDFILE_NAME).unlink(missing_ok=True)


def _start(relay: Relay, now) -> None:
    out_dir, work = relay.output_dir, relay.work_dir
    for folder in (out_dir, work):
        folder.mkdir(parents=True, exist_ok=True)
    log_path = work / LOG_NAME
    if log_path.exists():  # keep the previous run's log for the error tail of this one to be its own
        log_path.replace(work / f"{LOG_NAME}.1")
    (work / PROGRESS_NAME).unlink(missing_ok=True)  # "running" means *this* process reported
    (out_dir / MASTER_NAME).unlink(missing_ok=True)  # and a ladder serves once *this* one wrote it
    handle = ffmpeg.spawn(relay_command(relay), log_path=log_path)
    (work / PIDFILE_NAME).write_text(f"{handle.pid} {handle.start_ticks}\n")
    relay.pid, relay.start_ticks, relay.host = handle.pid, handle.start_ticks, _hostname()
    relay.state, relay.started_at, relay.heartbeat_at, relay.next_attempt_at = Relay.State.STARTING, now, now, None
    relay.last_progress = {}
