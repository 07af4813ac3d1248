"""FFmpeg as the relays use it: command lines, detached processes and what they report.

A relay's FFmpeg runs in its own session, detached from the Celery worker that started it, so a
worker restart does not take the relays down with it. A process is identified by its pid *and*
its start time (field 22 of /proc/<pid>/stat), so a recycled pid is never mistaken for a relay.
Progress comes from FFmpeg's own `-progress` file and errors from its stderr log; nothing needs
a thread reading pipes in the process that started it.
"""

import json
import os
import signal
import subprocess
import time
from dataclasses import dataclass, replace
from pathlib import Path

FFMPEG = os.environ.get("FFMPEG_BINARY", "ffmpeg")
FFPROBE = os.environ.get("FFPROBE_BINARY", "ffprobe")


@dataclass(frozen=True)
class Rendition:
    name: str
    height: int  # 0 = the source, passed through untouched
    video_kbps: int
    audio_kbps: int = 128


# The ladder presets: the top rung of each, then every lower standard rung. "source" is no ladder.
RUNGS = [Rendition("1080p", 1080, 5000), Rendition("720p", 720, 2800), Rendition("480p", 480, 1400),
         Rendition("360p", 360, 800)]


def ladder_for(preset: str, source_height: int | None, source_kbps: int | None = None) -> list[Rendition]:
    """The renditions a preset asks for: the source passed through, plus every standard rung at or
    under the preset's top that is strictly below the source (never upscale). `source_kbps` is
    what the master playlist declares for the passed-through rendition (FFmpeg cannot know it)."""
    if preset == "source":
        return []
    top = int(preset.rstrip("p"))
    below = [r for r in RUNGS if r.height <= top and (source_height is None or r.height < source_height)]
    if source_height and not source_kbps:
        # An encoder that declares no bit rate: assume the standard rate for its size, so the source
        # is still declared above every rung made from it (players rank levels by BANDWIDTH).
        ref = min((r for r in RUNGS if r.height >= source_height), key=lambda r: r.height, default=RUNGS[0])
        source_kbps = int(ref.video_kbps * (source_height / ref.height) ** 2)
    if source_height and source_kbps:
        # A lower rung never costs more than its share of the source's pixels (with some slack
        # for the smaller picture): a 1.5 Mbit/s 720p source gets a 1 Mbit/s 480p, not 1.4, so
        # the master playlist's BANDWIDTH falls with RESOLUTION and players step down for real.
        below = [replace(r, video_kbps=max(200, min(r.video_kbps, int(1.5 * source_kbps * (r.height / source_height) ** 2))))
                 for r in below]
    return [Rendition("source", 0, source_kbps or 0), *below]


def probe_source(input_url: str, *, timeout: float = 4.0) -> tuple[int | None, int | None, float | None]:
    """(height, video kbit/s, fps) of a live input, from a short ffprobe; Nones when it does not answer
    in time. The bit rate is what the encoder declared in its FLV metadata (OBS and FFmpeg do)."""
    argv = [FFPROBE, "-v", "error",
            "-rw_timeout", str(int(timeout * 1_000_000)), "-select_streams", "v:0",
            "-show_entries", "stream=height,bit_rate,avg_frame_rate", "-of", "json", input_url]
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout + 1)
        video = json.loads(done.stdout or "{}").get("streams", [{}])[0]
    except (subprocess.TimeoutExpired, ValueError, IndexError, OSError):
        return None, None, None
    height = video.get("height") or None
    bit_rate = str(video.get("bit_rate", ""))
    kbps = int(bit_rate) // 1000 if bit_rate.isdigit() and int(bit_rate) > 0 else None
    num, _, den = str(video.get("avg_frame_rate", "")).partition("/")
    fps = int(num) / int(den) if num.isdigit() and den.isdigit() and int(den) and int(num) else None
    return height, kbps, fps


def transcode_command(input_url: str, out_dir: Path, renditions: list[Rendition], *, fps: int = 30,
                      segment_seconds: int = 1, progress_path: Path | None = None) -> list[str]:
    """One FFmpeg producing every rendition as HLS with a master playlist. All renditions share
    one keyframe cadence (forced every segment) so their segments line up and players switch
    levels without a stall."""
    gop = fps * segment_seconds
    argv = [FFMPEG, "-hide_banner", "-nostdin", "-loglevel", "warning", "-rw_timeout", "10000000",
            "-i", input_url]
    stream_map = []
    for i, rung in enumerate(renditions):
        argv += ["-map", "0:v:0", "-map", "0:a:0?"]
        if rung.height == 0:
            argv += [f"-c:v:{i}", "copy"]
            if rung.video_kbps:
                argv += [f"-b:v:{i}", f"{rung.video_kbps}k"]
        else:
            # zerolatency: no lookahead, so the renditions are not seconds behind the source.
            argv += [f"-filter:v:{i}", f"scale=-2:{rung.height}", f"-c:v:{i}", "libx264", f"-preset:v:{i}",
                     "veryfast", f"-tune:v:{i}", "zerolatency", f"-b:v:{i}", f"{rung.video_kbps}k",
                     f"-maxrate:v:{i}", f"{rung.video_kbps * 11 // 10}k",
                     f"-bufsize:v:{i}", f"{rung.video_kbps * 2}k", f"-g:v:{i}", str(gop), f"-keyint_min:v:{i}", str(gop),
                     f"-sc_threshold:v:{i}", "0", f"-force_key_frames:v:{i}", f"expr:gte(t,n_forced*{segment_seconds})",
                     f"-pix_fmt:v:{i}", "yuv420p"]
        argv += [f"-c:a:{i}", "aac", f"-b:a:{i}", f"{rung.audio_kbps}k", f"-ac:a:{i}", "2"]
        stream_map.append(f"v:{i},a:{i},name:{rung.name}")
    argv += ["-f", "hls", "-hls_time", str(segment_seconds), "-hls_list_size", "6",
             "-hls_flags", "delete_segments+independent_segments+omit_endlist",
             "-master_pl_name", "master.m3u8", "-var_stream_map", " ".join(stream_map),
             "-hls_segment_filename", str(out_dir / "%v" / "seg_%05d.ts")]
    if progress_path:
        argv += ["-progress", str(progress_path), "-stats_period", "1"]
    return [*argv, str(out_dir / "%v" / "index.m3u8")]


def record_command(input_url: str, out_dir: Path, *, progress_path: Path | None = None,
                   segment_seconds: int = 4) -> list[str]:
    """Copy the broadcast into short MPEG-TS segments listed by an EVENT playlist: a crash of the
    recorder or the media server loses at most the segment being written, and every closed
    segment plays on its own."""
    argv = [FFMPEG, "-hide_banner", "-nostdin", "-loglevel", "warning", "-rw_timeout", "10000000",
            "-i", input_url, "-map", "0:v:0?", "-map", "0:a:0?", "-c", "copy",
            "-f", "hls", "-hls_time", str(segment_seconds), "-hls_list_size", "0",
            "-hls_playlist_type", "event", "-hls_flags", "append_list+program_date_time",
            "-hls_segment_filename", str(out_dir / "rec_%06d.ts")]
    if progress_path:
        argv += ["-progress", str(progress_path), "-stats_period", "1"]
    return [*argv, str(out_dir / "recording.m3u8")]


def thumbnail_command(input_url: str, out_path: Path, *, every_seconds: int = 30, width: int = 640,
                      progress_path: Path | None = None) -> list[str]:
    """Grab the first frame, then one every `every_seconds`, overwriting one JPEG (written to a
    temp name and renamed by FFmpeg's image2 muxer, so readers never see half a file). `select`,
    not `fps=1/N`: the fps filter holds its first frame back for N/2 s, and with it FFmpeg's
    first progress report, which the relay supervisor waits for. FFmpeg writes a frame out only when
    the next one is selected, so the first two are: the first JPEG exists a keyframe after the
    start, not `every_seconds` after. `-skip_frame nokey`: only keyframes
    (one a second from OBS) are decoded, not every frame of a 1080p stream (bench/relays.py: it
    made the thumbnail the costliest passthrough relay)."""
    pick = f"select='lte(selected_n,1)+gte(t-prev_selected_t,{every_seconds})'"
    argv = [FFMPEG, "-hide_banner", "-nostdin", "-loglevel", "warning", "-rw_timeout", "10000000",
            "-skip_frame", "nokey", "-i", input_url, "-map", "0:v:0", "-vf", f"{pick},scale={width}:-2", "-fps_mode", "vfr",
            "-q:v", "4", "-f", "image2", "-update", "1", "-atomic_writing", "1"]
    if progress_path:
        argv += ["-progress", str(progress_path), "-stats_period", "1"]
    return [*argv, str(out_path)]


def restream_command(input_url: str, destination_url: str, *, progress_path: Path | None = None) -> list[str]:
    """Copy the stream to another RTMP service without re-encoding.

    For an rtmp(s) destination the last path part (the service's stream key, a secret) goes in
    as -rtmp_playpath: FFmpeg's error messages name the URL it was given, and its log is read
    back into the relay's error tail."""
    argv = [FFMPEG, "-hide_banner", "-nostdin", "-loglevel", "warning", "-rw_timeout", "10000000",
            "-i", input_url, "-map", "0:v:0?", "-map", "0:a:0?", "-c", "copy", "-f", "flv"]
    if progress_path:
        argv += ["-progress", str(progress_path), "-stats_period", "1"]
    server, _, key = destination_url.rpartition("/")
    if destination_url.startswith(("rtmp://", "rtmps://")) and key and server.count("/") >= 3:
        return [*argv, "-rtmp_playpath", key, server]
    return [*argv, destination_url]


# --- processes ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class ProcessHandle:
    pid: int
    start_ticks: int  # /proc/<pid>/stat field 22: with the pid, names one process for good


def _stat(pid: int) -> tuple[str, int] | None:
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    # The command name (field 2) may contain spaces and parentheses: split after the last ")".
    fields = raw[raw.rindex(")") + 2:].split()
    return fields[0], int(fields[19])


def spawn(argv: list[str], *, log_path: Path) -> ProcessHandle:
    """Start `argv` in a session of its own, stderr and stdout appended to `log_path`."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "ab") as log:
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True,
                                close_fds=True)
    stat = _stat(proc.pid)
    return ProcessHandle(proc.pid, stat[1] if stat else 0)


def is_alive(handle: ProcessHandle) -> bool:
    stat = _stat(handle.pid)
    if stat is None or stat[1] != handle.start_ticks:
        return False
    if stat[0] in ("Z", "X"):
        _reap(handle.pid)
        return False
    return True


def _reap(pid: int) -> None:
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:  # not our child: init reaps it
        pass


def terminate(handle: ProcessHandle, *, grace: float = 2.0) -> None:
    """SIGTERM (FFmpeg closes its outputs cleanly), then SIGKILL after `grace` seconds."""
    if not is_alive(handle):
        return
    try:
        os.killpg(handle.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        if not is_alive(handle):
            return
        time.sleep(0.05)
    try:
        os.killpg(handle.pid, signal.SIGKILL)
    except ProcessLookupError:
        return
    for _ in range(40):
        if not is_alive(handle):
            return
        time.sleep(0.05)


# --- what a running FFmpeg reports -----------------------------------------------------------------

def read_progress(progress_path: Path, *, max_bytes: int = 4096) -> dict:
    """The latest complete block of FFmpeg's `-progress` output, typed. Empty when none yet.

    FFmpeg appends blocks of key=value lines, each closed by `progress=continue|end`."""
    try:
        with open(progress_path, "rb") as f:
            f.seek(0, os.SEEK_END)
            f.seek(max(0, f.tell() - max_bytes))
            lines = f.read().decode("utf-8", "replace").splitlines()
    except FileNotFoundError:
        return {}
    ends = [i for i, line in enumerate(lines) if line.startswith("progress=")]
    if not ends:
        return {}
    first = ends[-2] + 1 if len(ends) > 1 else 0
    values: dict = {}
    for line in lines[first:ends[-1] + 1]:
        key, _, value = line.partition("=")
        value = value.strip()
        if key in ("frame", "total_size", "out_time_ms", "drop_frames", "dup_frames") and value.isdigit():
            values[key] = int(value)
        elif key in ("fps", "bitrate", "speed"):
            number = value.removesuffix("kbits/s").removesuffix("x").strip()
            try:
                values["bitrate_kbps" if key == "bitrate" else key] = float(number)
            except ValueError:  # "N/A" before the first output
                values["bitrate_kbps" if key == "bitrate" else key] = None
        elif key == "progress":
            values[key] = value
    return values


def error_tail(log_path: Path, *, lines: int = 15, max_bytes: int = 8192) -> str:
    try:
        with open(log_path, "rb") as f:
            f.seek(0, os.SEEK_END)
            f.seek(max(0, f.tell() - max_bytes))
            text = f.read().decode("utf-8", "replace")
    except FileNotFoundError:
        return ""
    return "\n".join(text.strip().splitlines()[-lines:])
