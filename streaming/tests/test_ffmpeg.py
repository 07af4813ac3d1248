"""The FFmpeg building blocks of the relays, run with the real ffmpeg on small local inputs."""

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from streaming import ffmpeg


@pytest.fixture(scope="module")
def source(tmp_path_factory) -> Path:
    """Six seconds of 640x360 H.264 + AAC in FLV, as an encoder would send it."""
    path = tmp_path_factory.mktemp("src") / "source.flv"
    subprocess.run(
        ["ffmpeg", "-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i", "testsrc2=size=640x360:rate=30",
         "-f", "lavfi", "-i", "sine=frequency=440", "-t", "6", "-c:v", "libx264", "-preset", "ultrafast",
         "-g", "30", "-pix_fmt", "yuv420p", "-c:a", "aac", "-f", "flv", str(path)], check=True, timeout=60)
    return path


def probe(path: Path) -> dict:
    out = subprocess.run(["ffprobe", "-v", "error", "-show_format", "-show_streams", "-of", "json", str(path)],
                         capture_output=True, text=True, timeout=30, check=True)
    return json.loads(out.stdout)


@pytest.mark.parametrize(("preset", "height", "expected"), [
    ("source", 1080, []),
    ("1080p", 1080, ["source", "720p", "480p", "360p"]),
    ("720p", 1080, ["source", "720p", "480p", "360p"]),
    ("720p", 720, ["source", "480p", "360p"]),
    ("480p", 360, ["source"]),
    ("360p", 1080, ["source", "360p"]),
])
def test_ladder_never_upscales(preset, height, expected):
    assert [r.name for r in ffmpeg.ladder_for(preset, height)] == expected


@pytest.mark.parametrize("source_kbps", [None, 600, 2500])
@pytest.mark.parametrize("height", [480, 720, 1080])
def test_the_source_is_declared_above_every_rung_made_from_it(height, source_kbps):
    # Players rank levels by bandwidth: a rung declared above its source would be taken for the
    # better picture. An encoder that declares no bit rate gets the standard one for its size.
    source, *rungs = ffmpeg.ladder_for("1080p", height, source_kbps)
    assert rungs and all(r.video_kbps * 11 // 10 < source.video_kbps for r in rungs)
    assert [r.video_kbps for r in rungs] == sorted((r.video_kbps for r in rungs), reverse=True)


def test_ladder_produces_aligned_renditions_and_a_master_playlist(source, tmp_path):
    renditions = ffmpeg.ladder_for("480p", 360 + 1, source_kbps=900)  # source + 360p
    progress = tmp_path / "progress.txt"
    argv = ffmpeg.transcode_command(str(source), tmp_path, renditions, progress_path=progress)
    subprocess.run(argv, check=True, timeout=120, capture_output=True)

    master = (tmp_path / "master.m3u8").read_text()
    entries = [line for line in master.splitlines() if line.startswith("#EXT-X-STREAM-INF")]
    assert len(entries) == 2
    assert "RESOLUTION=640x360" in entries[0] and "BANDWIDTH=" in entries[0]
    assert int(entries[0].split("BANDWIDTH=")[1].split(",")[0]) >= 900_000  # declared source rate
    assert "RESOLUTION=640x360" in entries[1] or "RESOLUTION=640x360" in master
    for name in ("source", "360p"):
        segments = sorted((tmp_path / name).glob("seg_*.ts"))
        assert len(segments) >= 5
        info = probe(segments[1])
        video = next(s for s in info["streams"] if s["codec_type"] == "video")
        assert video["codec_name"] == "h264" and video["height"] == 360
        assert abs(float(info["format"]["duration"]) - 1.0) < 0.2  # 1 s segments, keyframe aligned

    done = ffmpeg.read_progress(progress)
    assert done["progress"] == "end" and done["frame"] >= 170


def test_recording_survives_a_killed_recorder(source, tmp_path):
    """kill -9 mid-stream: every closed segment and the playlist that lists them still play."""
    argv = ffmpeg.record_command(str(source), tmp_path, segment_seconds=1)
    argv.insert(argv.index("-i"), "-re")  # real time, so the kill lands mid-stream
    handle = ffmpeg.spawn(argv, log_path=tmp_path / "rec.log")
    deadline = time.monotonic() + 20
    while len(list(tmp_path.glob("rec_*.ts"))) < 4 and time.monotonic() < deadline:
        time.sleep(0.1)
    os.kill(handle.pid, signal.SIGKILL)
    for _ in range(50):
        if not ffmpeg.is_alive(handle):
            break
        time.sleep(0.05)
    assert not ffmpeg.is_alive(handle)

    playlist = tmp_path / "recording.m3u8"
    listed = [line for line in playlist.read_text().splitlines() if line.endswith(".ts")]
    assert len(listed) >= 3
    listed_seconds = sum(float(line.split(":")[1].rstrip(",")) for line in playlist.read_text().splitlines()
                         if line.startswith("#EXTINF:"))
    assert 2.5 <= listed_seconds <= 6.5
    for name in listed:
        info = probe(tmp_path / name)
        assert {s["codec_type"] for s in info["streams"]} == {"video", "audio"}
        assert float(info["format"]["duration"]) > 0.5


def test_thumbnail_and_restream_commands_run(source, tmp_path):
    thumb = tmp_path / "thumb.jpg"
    subprocess.run(ffmpeg.thumbnail_command(str(source), thumb, every_seconds=2), check=True, timeout=60,
                   capture_output=True)
    assert thumb.read_bytes()[:3] == b"\xff\xd8\xff"  # a JPEG
    copy = tmp_path / "copy.flv"
    subprocess.run(ffmpeg.restream_command(str(source), str(copy)), check=True, timeout=60, capture_output=True)
    video = next(s for s in probe(copy)["streams"] if s["codec_type"] == "video")
    assert video["codec_name"] == "h264" and video["width"] == 640  # copied, not re-encoded


def test_process_identity_survives_pid_checks(tmp_path):
    handle = ffmpeg.spawn(["sleep", "30"], log_path=tmp_path / "sleep.log")
    try:
        assert ffmpeg.is_alive(handle)
        impostor = ffmpeg.ProcessHandle(handle.pid, handle.start_ticks + 1)  # a recycled pid
        assert not ffmpeg.is_alive(impostor)
        assert os.getsid(handle.pid) == handle.pid  # its own session: outlives its parent's group
    finally:
        ffmpeg.terminate(handle)
    assert not ffmpeg.is_alive(handle)


def test_terminate_escalates_to_sigkill(tmp_path):
    handle = ffmpeg.spawn(["sh", "-c", "trap '' TERM; sleep 30"], log_path=tmp_path / "stubborn.log")
    time.sleep(0.2)
    started = time.monotonic()
    ffmpeg.terminate(handle, grace=0.5)
    assert not ffmpeg.is_alive(handle)
    assert time.monotonic() - started < 10


def test_error_tail_keeps_the_last_lines(tmp_path):
    log = tmp_path / "x.log"
    log.write_text("".join(f"line {i}\n" for i in range(100)))
    assert ffmpeg.error_tail(log, lines=3) == "line 97\nline 98\nline 99"
    assert ffmpeg.error_tail(tmp_path / "missing.log") == ""


def test_progress_of_a_file_being_written(tmp_path):
    path = tmp_path / "p.txt"
    assert ffmpeg.read_progress(path) == {}
    path.write_text("frame=10\nfps=0.00\nbitrate=N/A\nprogress=continue\nframe=40\nfps=29.97\n"
                    "bitrate=1024.5kbits/s\nspeed=1.01x\nprogress=continue\nframe=70\nfps=30")
    assert ffmpeg.read_progress(path) == {"frame": 40, "fps": 29.97, "bitrate_kbps": 1024.5, "speed": 1.01,
                                          "progress": "continue"}
