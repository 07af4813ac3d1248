"""Replays from recordings: the record relay's MPEG-TS segments become one fast-start MP4 (copied,
never re-encoded), a poster frame, a duration and a size.

The segments are read through FFmpeg's concat demuxer, in the order recording.m3u8 lists them:
after a recorder restart the new segments' timestamps start again near zero, which the HLS
demuxer would pass on to the MP4 muxer as time going backwards; concat shifts each file to follow
the previous one. The build runs in the Celery worker that claimed it (`replays_sweep`, on beat)
and reports progress from FFmpeg's `-progress` output on its stdout.
"""

import logging
import os
import shutil
import subprocess
import time
import uuid
from datetime import datetime
from pathlib import Path

from django.conf import settings
from django.db.models import Exists, OuterRef

from livestreams.models import Replay, Stream
from livestreams.services.replays import (
    replay_claim,
    replay_dir,
    replay_mark_failed,
    replay_mark_ready,
    replay_set_progress,
)
from streaming import ffmpeg
from streaming.models import Relay

logger = logging.getLogger(__name__)

PROGRESS_EVERY = 0.5  # seconds between progress writes/events


def recording_playlist(stream_id) -> Path:
    return Path(settings.MEDIA_ROOT) / "relays" / str(stream_id) / "record" / "recording.m3u8"


def playlist_segments(playlist: Path) -> list[tuple[Path, float]]:
    """(segment path, EXTINF seconds) for every segment the playlist lists that exists on disk."""
    segments, duration = [], None
    for line in playlist.read_text().splitlines():
        line = line.strip()
        if line.startswith("#EXTINF:"):
            try:
                duration = float(line[len("#EXTINF:"):].split(",")[0])
            except ValueError:
                duration = None
        elif line and not line.startswith("#"):
            path = playlist.parent / line
            if duration and path.is_file() and path.stat().st_size > 0:
                segments.append((path, duration))
            duration = None
    return segments


def recording_started_at(playlist: Path):
    """When the first recorded frame was received: the recorder stamps each segment with
    #EXT-X-PROGRAM-DATE-TIME (FFmpeg's program_date_time flag). None when it is missing."""
    for line in playlist.read_text().splitlines():
        if line.startswith("#EXT-X-PROGRAM-DATE-TIME:"):
            try:
                return datetime.fromisoformat(line.split(":", 1)[1].strip())
            except ValueError:
                return None
    return None


def replays_sweep() -> list[str]:
    """Build the replay of every ended, recorded stream that has none yet and whose recorder has
    stopped. Returns the ids of the streams whose replay this pass built (ready or failed)."""
    recorder_active = Relay.objects.filter(stream=OuterRef("pk"), kind=Relay.Kind.RECORD,
                                           state__in=Relay.ACTIVE_STATES)
    stale_after = settings.REPLAYS_STALE_SECONDS
    stale = Replay.objects.filter(stream=OuterRef("pk"), status=Replay.Status.PROCESSING)
    due = (Stream.objects.filter(record=True, status=Stream.Status.ENDED)
           .filter(Exists(stale) | ~Exists(Replay.objects.filter(stream=OuterRef("pk"))))
           .exclude(Exists(recorder_active)).values_list("pk", flat=True))
    built = []
    for stream_id in list(due):
        replay = replay_claim(stream_id=stream_id, stale_after=stale_after)
        if replay is not None:
            replay_build(replay=replay)
            built.append(str(stream_id))
    return built


def replay_build(*, replay: Replay) -> None:
    stream_id = replay.stream_id
    playlist = recording_playlist(stream_id)
    segments = playlist_segments(playlist) if playlist.is_file() else []
    if not segments:
        replay_mark_failed(replay=replay, error="Nothing was recorded for this stream: no recording segments were "
                                                "found (did the broadcast reach the recorder?).")
        return
    out_dir = replay_dir(stream_id)
    out_dir.mkdir(parents=True, exist_ok=True)
    try:
        video, poster = _remux(replay, segments, out_dir), None
        duration, size = _probe(video)
        poster = _poster(video, out_dir, at=(duration or 0) * 0.1)
    except ReplayBuildError as exc:
        logger.warning("replay of %s failed: %s", stream_id, exc)
        _mark_failed_if_still_there(replay, str(exc))
        return
    try:
        replay_mark_ready(replay=replay, video_path=_relative(video), poster_path=_relative(poster) if poster else "",
                          duration_seconds=duration, size_bytes=size, recorded_from=recording_started_at(playlist))
    except Replay.DoesNotExist:  # the artist deleted it while it was being built
        shutil.rmtree(out_dir, ignore_errors=True)


class ReplayBuildError(Exception):
    pass


def _mark_failed_if_still_there(replay: Replay, error: str) -> None:
    try:
        replay_mark_failed(replay=replay, error=error)
    except Replay.DoesNotExist:
        pass


def _relative(path: Path) -> str:
    return path.relative_to(Path(settings.MEDIA_ROOT)).as_posix()


def remux_command(list_path: Path, out_path: Path) -> list[str]:
    return [ffmpeg.FFMPEG, "-hide_banner", "-nostdin", "-loglevel", "error", "-y",
            "-f", "concat", "-safe", "0", "-i", str(list_path),
            "-map", "0:v:0?", "-map", "0:a:0?", "-c", "copy", "-bsf:a", "aac_adtstoasc",
            "-movflags", "+faststart", "-f", "mp4", "-progress", "pipe:1", "-stats_period", str(PROGRESS_EVERY),
            str(out_path)]


def _remux(replay: Replay, segments: list[tuple[Path, float]], out_dir: Path) -> Path:
    total = sum(seconds for _, seconds in segments)
    # The segment list (server paths) and FFmpeg's log stay out of the served replay folder.
    work = Path(settings.RELAYS_WORK_ROOT) / str(replay.stream_id) / "replay"
    work.mkdir(parents=True, exist_ok=True)
    list_path = work / "segments.txt"
    quoted = [(str(path).replace("'", "'\\''"), seconds) for path, seconds in segments]
    list_path.write_text("ffconcat version 1.0\n" + "".join(f"file '{path}'\nduration {seconds:.3f}\n"
                                                           for path, seconds in quoted))
    final, partial = out_dir / "replay.mp4", out_dir / "replay.part.mp4"
    log_path = work / "ffmpeg.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(remux_command(list_path, partial), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=log, text=True)
        last_sent = 0.0
        try:
            for line in proc.stdout:
                key, _, value = line.strip().partition("=")
                if key == "out_time_us" and value.isdigit() and total:
                    now = time.monotonic()
                    if now - last_sent >= PROGRESS_EVERY:
                        # 0.99 at most until FFmpeg is done: moving the index to the front comes last.
                        replay_set_progress(replay=replay, progress=min(0.99, int(value) / 1_000_000 / total))
                        last_sent = now
            code = proc.wait(timeout=settings.REPLAYS_FFMPEG_TIMEOUT)
        except BaseException:
            proc.kill()
            proc.wait()
            raise
    list_path.unlink(missing_ok=True)
    if code != 0 or not partial.is_file():
        partial.unlink(missing_ok=True)
        tail = ffmpeg.error_tail(log_path) or f"FFmpeg exited with status {code}."
        raise ReplayBuildError(f"FFmpeg could not build the replay:\n{tail}")
    os.replace(partial, final)
    return final


def _probe(video: Path) -> tuple[float | None, int]:
    done = subprocess.run([ffmpeg.FFPROBE, "-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0",
                           str(video)], capture_output=True, text=True, timeout=60)
    if done.returncode != 0:
        raise ReplayBuildError(f"ffprobe could not read the replay:\n{done.stderr.strip()[-2000:]}")
    try:
        duration = float(done.stdout.strip())
    except ValueError:
        duration = None
    return duration, video.stat().st_size


def _poster(video: Path, out_dir: Path, *, at: float) -> Path | None:
    """A frame from ~10% in (past any black opening). A replay without one is still a replay."""
    final, partial = out_dir / "poster.jpg", out_dir / "poster.part.jpg"
    done = subprocess.run([ffmpeg.FFMPEG, "-hide_banner", "-nostdin", "-loglevel", "error", "-y", "-ss", f"{at:.2f}",
                           "-i", str(video), "-frames:v", "1", "-q:v", "3", str(partial)],
                          capture_output=True, text=True, timeout=60)
    if done.returncode != 0 or not partial.is_file():
        logger.warning("no poster for %s: %s", video, done.stderr.strip()[-500:])
        partial.unlink(missing_ok=True)
        return None
    os.replace(partial, final)
    return final


def media_cleanup() -> list[str]:
    """Remove the relay, replay and relay work folders of streams that no longer exist. Returns what
    it removed."""
    media = Path(settings.MEDIA_ROOT)
    roots = [media / "relays", media / "replays", Path(settings.RELAYS_WORK_ROOT)]
    # Folders are named by stream id; anything else under these roots is not ours to remove.
    folders = {p: stream_id for root in roots if root.is_dir() for p in root.iterdir()
               if p.is_dir() and (stream_id := _uuid_or_none(p.name))}
    known = set(Stream.objects.filter(pk__in=set(folders.values())).values_list("pk", flat=True))
    removed = [folder for folder, stream_id in folders.items() if stream_id not in known]
    for folder in removed:
        shutil.rmtree(folder, ignore_errors=True)
    return [str(folder) for folder in removed]


def _uuid_or_none(name: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(name)
    except ValueError:
        return None
