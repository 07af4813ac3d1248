"""Relays benchmark: what a live stream costs this machine in CPU, with and without a transcode ladder.

    .venv/bin/python bench/relays.py                  # every case, 20 s of sampling each
    .venv/bin/python bench/relays.py --seconds 10 --cases 1080p:720p,720p:source

Set-up (temp dir, all stopped at the end): nginx-rtmp from the generated config (streaming.testing)
whose callbacks go to a trivial accept-all HTTP server (no Django: the media plane alone), and per
case an ffmpeg test pattern published to it (streaming.testing.publish_test_pattern: -re, libx264
ultrafast/zerolatency, 1 s GOP, AAC; 1080p at 4.5 Mbit/s or 720p at 2.5 Mbit/s). The encoder stands
for the artist's OBS: it runs on the same 2 cores but is not counted.

Per case: the relays a stream has in production are started with the exact command lines the
supervisor uses (streaming.ffmpeg: record + thumbnail always, plus the transcode ladder of the
preset; "source" = no ladder). After a 4 s warm-up, CPU is read from /proc/<pid>/stat (utime +
stime) of the transcoder, of the record and thumbnail relays and of nginx (master + workers: ingest,
HLS muxing, the relays' RTMP plays) over --seconds, and reported as a share of the machine's cores
(100 % = both cores busy). FFmpeg's own `speed` says whether the ladder kept up with real time.

Capacity estimate: streams per machine = cores / (CPU cores one stream costs), where a stream costs
the passthrough (nginx + record + thumbnail) and, with a ladder, its transcoder too. It is an upper
bound: it leaves nothing for Django, Redis, PostgreSQL, and it assumes the cost adds up linearly.
"""

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.test")

import django  # noqa: E402

django.setup()

from streaming import ffmpeg  # noqa: E402
from streaming.testing import (  # noqa: E402
    AcceptAllCallbacks,
    LocalNginxRtmp,
    publish_test_pattern,
    stop_process,
    wait_until,
)

TICK = os.sysconf("SC_CLK_TCK")
CORES = os.cpu_count() or 1
SOURCES = {"1080p": ("1920x1080", 4500), "720p": ("1280x720", 2500)}
DEFAULT_CASES = ["1080p:source", "1080p:1080p", "1080p:720p", "1080p:480p", "1080p:360p",
                 "720p:source", "720p:720p", "720p:480p", "720p:360p"]


def cpu_ticks(pid: int) -> int:
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0
    fields = raw[raw.rindex(")") + 2:].split()
    return int(fields[11]) + int(fields[12])  # utime + stime


def children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                raw = (entry / "stat").read_text()
            except OSError:
                continue
            if int(raw[raw.rindex(")") + 2:].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def measure(groups: dict[str, list[int]], seconds: float) -> dict[str, float]:
    """CPU of each group of pids over `seconds`, in cores (1.0 = one core busy)."""
    before = {name: sum(cpu_ticks(p) for p in pids) for name, pids in groups.items()}
    started = time.monotonic()
    time.sleep(seconds)
    elapsed = time.monotonic() - started
    return {name: (sum(cpu_ticks(p) for p in pids) - before[name]) / TICK / elapsed for name, pids in groups.items()}


def run_case(nginx: LocalNginxRtmp, work: Path, source: str, preset: str, seconds: float) -> dict:
    size, kbps = SOURCES[source]
    key = f"bench-{source}-{preset}"
    out = work / key
    out.mkdir()
    encoder = publish_test_pattern(nginx.rtmp_url, key, size=size, video_bitrate=f"{kbps}k",
                                   log_path=out / "encoder.log")
    handles = {}
    try:
        input_url = f"{nginx.rtmp_url}/{key}"
        wait_until(lambda: (nginx.hls_dir / f"{key}.m3u8").exists(), timeout=15, message="publishing")
        height, probed_kbps, _ = ffmpeg.probe_source(input_url)
        commands = {
            "record": ffmpeg.record_command(input_url, out / "record", progress_path=out / "record.progress"),
            "thumbnail": ffmpeg.thumbnail_command(input_url, out / "thumb.jpg", progress_path=out / "thumb.progress"),
        }
        ladder = ffmpeg.ladder_for(preset, height, probed_kbps)
        if ladder:
            commands["transcode"] = ffmpeg.transcode_command(input_url, out / "ladder", ladder,
                                                             progress_path=out / "transcode.progress")
        for name, argv in commands.items():
            (out / name).mkdir(exist_ok=True)
            handles[name] = ffmpeg.spawn(argv, log_path=out / f"{name}.log")
        time.sleep(4)  # connect, probe, fill the encoders' look-ahead
        nginx_pids = [nginx.process.pid, *children(nginx.process.pid)]
        groups = {"nginx": nginx_pids, "record": [handles["record"].pid], "thumbnail": [handles["thumbnail"].pid]}
        if "transcode" in handles:
            groups["transcode"] = [handles["transcode"].pid]
        groups["encoder (not counted)"] = [encoder.pid]
        cpu = measure(groups, seconds)
        alive = {name: ffmpeg.is_alive(h) for name, h in handles.items()}
        speed = ffmpeg.read_progress(out / "transcode.progress").get("speed") if ladder else None
        return {"source": source, "preset": preset, "renditions": [r.name for r in ladder], "cpu_cores": cpu,
                "all_alive": all(alive.values()), "transcode_speed": speed,
                "passthrough_cores": cpu["nginx"] + cpu["record"] + cpu["thumbnail"],
                "loadavg": os.getloadavg()[0]}
    finally:
        for handle in handles.values():
            ffmpeg.terminate(handle, grace=2)
        stop_process(encoder)
        time.sleep(1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--cases", default=",".join(DEFAULT_CASES), help="source:preset,...")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="backline-bench-relays-"))
    results = []
    try:
        with AcceptAllCallbacks() as accept, LocalNginxRtmp(callback_base_url=accept.url, media_root=work) as nginx:
            for case in args.cases.split(","):
                source, preset = case.split(":")
                result = run_case(nginx, work, source, preset, args.seconds)
                results.append(result)
                cpu = result["cpu_cores"]
                print(f"{source} source, preset {preset:6} ladder={'+'.join(result['renditions']) or '-':28} "
                      f"transcode {cpu.get('transcode', 0) / CORES:6.1%} of {CORES} cores "
                      f"(speed {result['transcode_speed'] or '-'}), passthrough {result['passthrough_cores'] / CORES:5.1%} "
                      f"[nginx {cpu['nginx'] / CORES:.1%}, record {cpu['record'] / CORES:.1%}, "
                      f"thumbnail {cpu['thumbnail'] / CORES:.1%}], encoder {cpu['encoder (not counted)'] / CORES:.1%}, "
                      f"relays alive: {result['all_alive']}, load {result['loadavg']:.1f}", flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)

    print(f"\nStreams this machine carries ({CORES} cores, CPU only, an upper bound):")
    for r in results:
        per_stream = r["passthrough_cores"] + r["cpu_cores"].get("transcode", 0)
        print(f"  {r['source']} source, preset {r['preset']:6}: {per_stream:.3f} cores per stream "
              f"-> {int(CORES / per_stream) if per_stream else 'inf'} streams")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
