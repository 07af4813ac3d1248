"""Glass-to-glass latency (issue 5): a frame leaving the encoder -> the same frame on a fan's screen.

    .venv/bin/python bench/glass_to_glass.py                   # 5 page loads x 20 s + one 60 s session
    .venv/bin/python bench/glass_to_glass.py --loads 7 --seconds 20 --session 60 --compare-defaults

Set-up (temp dir; everything stopped at the end): its own redis-server and SQLite file, `migrate`,
the real stack of the browser tests (livestreams/tests/browser_stack.py: one Daphne, the generated
nginx-rtmp from streaming.testing calling it back), an artist and a stream, and ffmpeg publishing
testsrc2 at 640x360/30 fps like OBS would (-re, libx264 ultrafast/zerolatency, 1 s GOP, AAC) with
the frame number burned into the top strip as a 20-bit barcode (one `drawbox` per bit, enabled
when that bit of the frame number `n` is set; drawn twice, two rows, as a check).

Encoder side: with -re, frame n leaves the encoder at T0 + n/fps. ffmpeg's -progress output
(every 100 ms) says how many frames it has written; each report at wall time t bounds
T0 <= t - n/fps, so T0 = the minimum over all reports.
Display side: the real watch page (/livestreams/<id>/, hls.js with the site's settings) in headless
Chromium (/usr/bin/chromium). requestVideoFrameCallback gives each presented frame; it is drawn
to a canvas and the barcode read back. display wall time = performance.timeOrigin +
metadata.expectedDisplayTime. latency = display - (T0 + n/fps). Same machine, same clock.

Per page load: the median latency over the frames shown after the first --settle seconds (5: the
player starts up to ~1 s further behind and catches up by playing at 1.1-1.25x), and separately
the latency of the first frames shown.
Reported: the median of those medians, min/max, and stalls (`waiting` events after playback
started) in a long session. --compare-defaults repeats with hls.js defaults (window.__hlsConfigOverride
= {}) for reference.
"""

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

FPS = 30
BITS = 20
BLOCK = 24  # px per bit
SIZE = "640x360"

# Runs in the page: read the barcode of every presented frame.
PROBE_JS = """
(() => {
  const BITS = %(bits)d, BLOCK = %(block)d;
  window.__g2g = { samples: [], stalls: 0, playing: false, errors: 0 };
  const start = () => {
    const video = document.querySelector("video");
    if (!video || !video.requestVideoFrameCallback) { setTimeout(start, 50); return; }
    const canvas = document.createElement("canvas");
    const ctx = canvas.getContext("2d", { willReadFrequently: true });
    video.addEventListener("playing", () => { window.__g2g.playing = true; });
    video.addEventListener("waiting", () => { if (window.__g2g.playing) window.__g2g.stalls += 1; });
    const read = (row) => {
      let n = 0;
      for (let k = 0; k < BITS; k++) {
        const x = Math.round((k * BLOCK + BLOCK / 2) * canvas.width / 640);
        const y = Math.round((row * 28 + 14) * canvas.height / 360);
        const d = ctx.getImageData(x, y, 1, 1).data;
        if ((d[0] + d[1] + d[2]) / 3 > 128) n |= (1 << k);
      }
      return n;
    };
    const onFrame = (now, meta) => {
      try {
        if (canvas.width !== video.videoWidth) { canvas.width = video.videoWidth; canvas.height = video.videoHeight; }
        ctx.drawImage(video, 0, 0);
        const a = read(0), b = read(1);
        const shown = performance.timeOrigin + (meta.expectedDisplayTime || now);
        if (a === b) window.__g2g.samples.push([a, shown]);
        else window.__g2g.errors += 1;
      } catch (e) { window.__g2g.errors += 1; }
      video.requestVideoFrameCallback(onFrame);
    };
    video.requestVideoFrameCallback(onFrame);
  };
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start); else start();
})();
""" % {"bits": BITS, "block": BLOCK}


def barcode_filter() -> str:
    """Two rows (y 0-28 and 28-56) of BITS white/black blocks encoding the frame number n."""
    parts = ["drawbox=x=0:y=0:w=%d:h=56:color=black:t=fill" % (BITS * BLOCK)]
    for row in (0, 1):
        for k in range(BITS):
            parts.append(
                f"drawbox=x={k * BLOCK + 2}:y={row * 28 + 2}:w={BLOCK - 4}:h=24:color=white:t=fill:"
                f"enable='eq(mod(floor(n/{2 ** k})\\,2)\\,1)'"
            )
    return ",".join(parts)


class Encoder:
    """ffmpeg publishing the barcoded test pattern; tracks T0 from its -progress reports."""

    def __init__(self, rtmp_url: str, obs_key: str, log_path: Path):
        argv = [
            "ffmpeg", "-hide_banner", "-nostdin", "-loglevel", "error", "-re",
            "-f", "lavfi", "-i", f"testsrc2=size={SIZE}:rate={FPS}", "-f", "lavfi", "-i", "sine=frequency=440",
            "-vf", barcode_filter(),
            "-c:v", "libx264", "-preset", "ultrafast", "-tune", "zerolatency", "-g", str(FPS), "-keyint_min", str(FPS),
            "-sc_threshold", "0", "-b:v", "800k", "-maxrate", "800k", "-bufsize", "800k", "-pix_fmt", "yuv420p",
            "-c:a", "aac", "-b:a", "96k", "-progress", "pipe:1", "-stats_period", "0.1",
            "-f", "flv", f"{rtmp_url.rstrip('/')}/{obs_key}",
        ]
        self.log = open(log_path, "wb")  # noqa: SIM115
        self.proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=self.log, stdin=subprocess.DEVNULL)
        self.t0 = float("inf")
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        for line in self.proc.stdout:
            now = time.time() * 1000
            if line.startswith(b"frame="):
                n = int(line.split(b"=", 1)[1].strip() or 0)
                if n > 0:
                    self.t0 = min(self.t0, now - n * 1000 / FPS)

    def left_encoder_ms(self, n: int) -> float:
        return self.t0 + n * 1000 / FPS

    def stop(self):
        from streaming.testing import stop_process

        stop_process(self.proc)
        self.log.close()


def measure_load(browser, url: str, encoder: Encoder, seconds: float, override: dict | None,
                 settle: float = 5.0) -> dict:
    context = browser.new_context(viewport={"width": 1280, "height": 720})
    try:
        page = context.new_page()
        if override is not None:
            page.add_init_script(f"window.__hlsConfigOverride = {json.dumps(override)};")
        page.add_init_script(PROBE_JS)
        t_open = time.time()
        page.goto(url)
        page.wait_for_function("window.__g2g && window.__g2g.samples.length > 0", timeout=30000)
        t_first = time.time()
        time.sleep(seconds)
        data = page.evaluate("window.__g2g")
        hls = page.evaluate("""(() => { const h = window.__hls; if (!h) return null;
          const d = h.levels[0] && h.levels[0].details;
          return { target_latency_s: h.targetLatency, latency_s: h.latency, target_duration_s: d && d.targetduration,
                   fragment_s: d && d.averagetargetduration }; })()""")
    finally:
        context.close()
    samples = data["samples"]
    after = samples[0][1] + settle * 1000 if samples else 0
    lat = [shown - encoder.left_encoder_ms(n) for n, shown in samples if shown >= after]
    first = [shown - encoder.left_encoder_ms(n) for n, shown in samples[:15]]
    # Frame numbers wrap at 2^BITS (~9.7 h at 30 fps): irrelevant here. Drop nonsense reads.
    lat = [v for v in lat if -100 < v < 30000]
    return {
        "median_ms": statistics.median(lat) if lat else None,
        "first_frames_ms": statistics.median(first) if first else None,
        "p90_ms": statistics.quantiles(lat, n=10)[-1] if len(lat) >= 10 else None,
        "frames": len(lat),
        "read_errors": data["errors"],
        "stalls": data["stalls"],
        "start_s": round(t_first - t_open, 2),
        "hls": hls,
    }


def run(args) -> dict:
    tmp = Path(tempfile.mkdtemp(prefix="backline-g2g-"))
    db_url = f"sqlite:///{tmp / 'bench.sqlite3'}"
    os.environ.update({"DJANGO_SETTINGS_MODULE": "config.settings.local", "DATABASE_URL": db_url,
                       "DJANGO_ALLOW_ASYNC_UNSAFE": "true"})
    import django

    django.setup()
    from streaming.testing import free_port, wait_for_port

    redis_port = free_port()
    redis = subprocess.Popen(["redis-server", "--port", str(redis_port), "--bind", "127.0.0.1", "--save", "",
                              "--appendonly", "no", "--dir", str(tmp)], stdout=subprocess.DEVNULL)
    stack = encoder = None
    try:
        wait_for_port(redis_port)
        redis_url = f"redis://127.0.0.1:{redis_port}/0"
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
        from accounts.services import user_signup
        from livestreams.models import Stream
        from livestreams.services import stream_create
        from livestreams.tests.browser_stack import BackendStack, launch_chromium

        artist = user_signup(username="benchartist", email="bench@example.test", password="a-long-bench-password",
                             role="artist")
        stream = stream_create(artist=artist, title="Glass to glass")
        stack = BackendStack(database_url=db_url, redis_url=redis_url, log_dir=tmp / "logs").start()
        encoder = Encoder(stack.nginx.rtmp_url, stream.obs_stream_key, tmp / "ffmpeg.log")
        deadline = time.time() + 30
        while Stream.objects.get(pk=stream.pk).status != Stream.Status.LIVE:
            if time.time() > deadline or encoder.proc.poll() is not None:
                raise RuntimeError("the stream did not go live:\n" + stack.logs())
            time.sleep(0.2)
        time.sleep(3)  # a few fragments in the playlist
        url = f"{stack.url}/livestreams/{stream.pk}/"

        from playwright.sync_api import sync_playwright

        configs = [("backline", None)]
        if args.override:
            configs = [("override", json.loads(args.override))]
        if args.compare_defaults:
            configs.append(("hls.js defaults", {}))
        results = {}
        with sync_playwright() as playwright:
            browser = launch_chromium(playwright)
            try:
                for name, override in configs:
                    loads = []
                    for i in range(args.loads):
                        loads.append(measure_load(browser, url, encoder, args.seconds, override, args.settle))
                        print(f"  [{name}] load {i + 1}: {loads[-1]}", flush=True)
                    session = (measure_load(browser, url, encoder, args.session, override, args.settle)
                               if args.session else None)
                    if session:
                        print(f"  [{name}] {args.session:.0f} s session: {session}", flush=True)
                    medians = [x["median_ms"] for x in loads if x["median_ms"] is not None]
                    results[name] = {
                        "median_of_load_medians_ms": round(statistics.median(medians)) if medians else None,
                        "min_ms": round(min(medians)) if medians else None,
                        "max_ms": round(max(medians)) if medians else None,
                        "loads": loads, "session": session,
                    }
            finally:
                browser.close()
        return results
    finally:
        if encoder:
            encoder.stop()
        if stack:
            stack.stop()
        redis.terminate()
        redis.wait(timeout=10)
        shutil.rmtree(tmp, ignore_errors=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--loads", type=int, default=5, help="page loads (default 5)")
    parser.add_argument("--seconds", type=float, default=20, help="seconds watched per load (default 20)")
    parser.add_argument("--settle", type=float, default=5, help="seconds after the first frame not counted (default 5)")
    parser.add_argument("--session", type=float, default=60, help="one long session for stalls, s (0: none)")
    parser.add_argument("--compare-defaults", action="store_true", help="also measure hls.js defaults")
    parser.add_argument("--override", help="an hls.js config (JSON) to measure instead of the site's")
    parser.add_argument("--json", type=Path, help="write the results here")
    args = parser.parse_args()
    results = run(args)
    print()
    for name, r in results.items():
        stalls = r["session"]["stalls"] if r["session"] else "n/a"
        firsts = [x["first_frames_ms"] for x in r["loads"] if x["first_frames_ms"] is not None]
        print(f"{name:>16}: glass to glass median {r['median_of_load_medians_ms']} ms "
              f"(loads {r['min_ms']}-{r['max_ms']} ms, {len(r['loads'])} loads), "
              f"first frames {round(statistics.median(firsts)) if firsts else None} ms, "
              f"stalls in {args.session:.0f} s session: {stalls}, "
              f"session median {round(r['session']['median_ms']) if r['session'] and r['session']['median_ms'] else None} ms")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
