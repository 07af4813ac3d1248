"""Time-to-live benchmark (issue 3). Runs the real local stack pieces on loopback and measures:

  A. encoder connect -> the stream reads "live" through the API (and -> `stream:start` arriving on
     a watch socket, when the realtime layer answers);
  B. a frame leaving the encoder -> the fragment that carries it listed in the HLS playlist.

    .venv/bin/python bench/time_to_live.py              # 7 runs, median / min / max
    .venv/bin/python bench/time_to_live.py --runs 11 --size 1280x720

Set-up (all in a temp dir, all stopped at the end): its own redis-server and SQLite file, `migrate`,
one Daphne (config.asgi) on a free port, nginx-rtmp from the generated config (streaming.testing,
callbacks to that Daphne), and per run a new scheduled stream and an ffmpeg test pattern
(streaming.testing.publish_test_pattern: -re, libx264 ultrafast/zerolatency, 1 s GOP, AAC).

A: ffmpeg connects through a small TCP relay in this process; t0 is the moment the relay accepts
   the encoder's connection (so ffmpeg's own start-up is not counted). The API is polled every 5 ms
   (GET /api/v1/livestreams/<id>/status/, keep-alive); the socket is opened before ffmpeg starts.
B: while publishing, the playlist file is read every 1 ms and each newly listed fragment is copied
   at once; nginx's /stat is polled every 5 ms for the publisher's stream timestamp. With -re the
   encoder sends a packet with timestamp d at (offset + d); offset is estimated as the minimum over
   all polls of (time the /stat answer arrived - timestamp reported), i.e. the packet's arrival at
   nginx on loopback. For each fragment, d_last = the largest DTS of any packet in it (ffprobe), and
   latency = time listed - (offset + d_last). nginx-rtmp can only close a fragment when the next
   keyframe arrives, so this includes up to one frame interval of waiting for that keyframe.
"""

import argparse
import json
import os
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def setup_django(tmp: Path, redis_url: str, secret: str) -> dict:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.local",
        "DJANGO_DEBUG": "false",
        "DATABASE_URL": f"sqlite:///{tmp / 'bench.sqlite3'}",
        "REDIS_URL": redis_url,
        "MEDIA_SERVER": "nginx-rtmp",
        "MEDIA_SERVER_CALLBACK_SECRET": secret,
        "DJANGO_LOG_LEVEL": "WARNING",
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
    }
    os.environ.update(env)
    import django

    django.setup()
    return env


class Relay:
    """TCP relay ffmpeg -> nginx RTMP; records when each encoder connection is accepted."""

    def __init__(self, target_port: int):
        self.target_port = target_port
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        self.accepted: list[float] = []
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while True:
            try:
                client, _ = self.server.accept()
            except OSError:
                return
            self.accepted.append(time.time())
            upstream = socket.create_connection(("127.0.0.1", self.target_port))
            for a, b in ((client, upstream), (upstream, client)):
                a.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(src, dst):
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def close(self):
        self.server.close()


def watch_socket(url: str, origin: str, got: dict, ready: threading.Event, stop: threading.Event):
    """Open the watch socket and record when `stream:start` arrives (optional: realtime layer)."""
    try:
        from websockets.sync.client import connect

        with connect(url, origin=origin, open_timeout=5) as ws:
            ready.set()
            while not stop.is_set():
                try:
                    frame = ws.recv(timeout=0.2)
                except TimeoutError:
                    continue
                data = json.loads(frame)
                if data.get("type") == "stream:start":
                    got["t"] = time.time()
                    return
    except Exception as exc:  # noqa: BLE001 - optional measurement: say why it is missing
        got["error"] = f"{exc.__class__.__name__}: {exc}"
    finally:
        ready.set()


# nginx-rtmp writes MPEG-TS timestamps 700 ms ahead of the RTMP ones (NGX_RTMP_HLS_DELAY = 63000
# at 90 kHz, ngx_rtmp_mpegts.c).
NGX_RTMP_HLS_DELAY = 0.7


def dts_seconds(path: Path, pick, video_only: bool = False) -> float:
    """pick(min/max) of the packets' DTS in a fragment, on the RTMP timeline (seconds)."""
    select = ["-select_streams", "v"] if video_only else []
    out = subprocess.run(["ffprobe", "-v", "error", *select, "-show_entries", "packet=dts_time", "-of", "csv=p=0",
                          str(path)], capture_output=True, text=True, timeout=30, check=True).stdout
    return pick(float(v.split(",")[0]) for v in out.split() if v.strip() and v.strip() != "N/A") - NGX_RTMP_HLS_DELAY


def poll_stat(stat_url: str, playback_id: str, offsets: list, stop: threading.Event) -> None:
    """Record (arrival of the /stat answer - the publisher's stream timestamp) every ~5 ms."""
    import xml.etree.ElementTree as ET

    import requests

    session = requests.Session()
    while not stop.is_set():
        try:
            body = session.get(stat_url, timeout=1).content
        except requests.RequestException:
            continue
        arrived = time.time()
        for stream_el in ET.fromstring(body).iter("stream"):
            if stream_el.findtext("name") == playback_id:
                for client in stream_el.iter("client"):
                    if client.find("publishing") is not None:
                        offsets.append(arrived - int(client.findtext("timestamp")) / 1000)
        time.sleep(0.005)


def one_run(i, args, nginx, relay, base, session, artist):
    from livestreams.services import stream_create
    from streaming.testing import publish_test_pattern, stop_process

    stream = stream_create(artist=artist, title=f"bench {i}")
    playlist = nginx.hls_dir / f"{stream.playback_id}.m3u8"
    keep = Path(tempfile.mkdtemp(prefix="frag-"))
    got, ready, stop = {}, threading.Event(), threading.Event()
    origin = base
    ws_thread = threading.Thread(target=watch_socket, daemon=True, args=(
        f"{base.replace('http', 'ws', 1)}/ws/livestreams/{stream.pk}/", origin, got, ready, stop))
    ws_thread.start()
    ready.wait(6)
    accepted_before = len(relay.accepted)
    proc = publish_test_pattern(f"rtmp://127.0.0.1:{relay.port}/live", stream.obs_stream_key,
                                seconds=args.seconds, size=args.size, fps=args.fps)
    result = {}
    try:
        status_url = f"{base}/api/v1/livestreams/{stream.pk}/status/"
        deadline = time.time() + 15
        while time.time() < deadline:
            if session.get(status_url, timeout=2).json()["status"] == "live":
                result["api"] = time.time()
                break
            time.sleep(0.005)
        t0 = relay.accepted[accepted_before] if len(relay.accepted) > accepted_before else None
        result["connect_to_api_ms"] = (result["api"] - t0) * 1000 if t0 and "api" in result else None
        stream.refresh_from_db()
        if t0 and stream.started_at:  # stamped inside the publish callback (same clock)
            result["connect_to_callback_ms"] = (stream.started_at.timestamp() - t0) * 1000
        # B: the playlist on disk, and /stat for the stream-time offset.
        offsets, listed, stat_url = [], {}, f"{nginx.control_url}/stat"
        stat_stop = threading.Event()
        stat_thread = threading.Thread(target=poll_stat, daemon=True,
                                       args=(stat_url, stream.playback_id, offsets, stat_stop))
        stat_thread.start()
        while proc.poll() is None:
            try:
                text = playlist.read_text()
            except FileNotFoundError:
                text = ""
            now = time.time()
            for line in text.splitlines():
                if line.endswith(".ts") and line not in listed:
                    listed[line] = now
                    try:
                        shutil.copy(nginx.hls_dir / line, keep / line)
                    except FileNotFoundError:
                        pass
            time.sleep(0.001)
        stat_stop.set()
        stat_thread.join(2)
        if offsets:
            offset = min(offsets)
            order = [name for name, _ in sorted(listed.items(), key=lambda kv: kv[1])]
            result["fragment_ms"], result["keyframe_ms"] = [], []
            # The first fragment waits for the stream to start; the last one is cut by ffmpeg's exit.
            for k, name in enumerate(order[1:-1], start=1):
                path, following = keep / name, keep / order[k + 1]
                if path.exists():
                    result["fragment_ms"].append((listed[name] - (offset + dts_seconds(path, max))) * 1000)
                if following.exists():  # the keyframe that closes this fragment opens the next one
                    first_video = dts_seconds(following, min, video_only=True)
                    result["keyframe_ms"].append((listed[name] - (offset + first_video)) * 1000)
        stop.wait(0)
        ws_thread.join(3)
        if "t" in got and t0:
            result["connect_to_socket_ms"] = (got["t"] - t0) * 1000
        else:
            result["socket_error"] = got.get("error", "no stream:start received")
    finally:
        stop.set()
        stop_process(proc)
        shutil.rmtree(keep, ignore_errors=True)
    return result


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--seconds", type=float, default=6.0, help="ffmpeg publish length per run")
    parser.add_argument("--size", default="640x360")
    parser.add_argument("--fps", type=int, default=30)
    args = parser.parse_args()

    from streaming.testing import free_port, stop_process, wait_for_port

    tmp = Path(tempfile.mkdtemp(prefix="backline-ttl-"))
    procs = []
    nginx = relay = None
    try:
        redis_port = free_port()
        procs.append(subprocess.Popen(["redis-server", "--port", str(redis_port), "--bind", "127.0.0.1", "--save", "",
                                       "--appendonly", "no", "--dir", str(tmp)], stdout=subprocess.DEVNULL))
        wait_for_port(redis_port)
        secret = secrets.token_urlsafe(24)
        env = setup_django(tmp, f"redis://127.0.0.1:{redis_port}/0", secret)
        subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v0"], cwd=ROOT, env=env, check=True)
        web_port = free_port()
        procs.append(subprocess.Popen([str(ROOT / ".venv/bin/daphne"), "-b", "127.0.0.1", "-p", str(web_port),
                                       "config.asgi:application"], cwd=ROOT, env=env,
                                      stdout=subprocess.DEVNULL, stderr=open(tmp / "daphne.log", "wb")))
        wait_for_port(web_port, timeout=30)
        base = f"http://127.0.0.1:{web_port}"

        from django.conf import settings

        from accounts.models import User
        from streaming.testing import LocalNginxRtmp

        settings.MEDIA_SERVER_CALLBACK_SECRET = secret
        nginx = LocalNginxRtmp(callback_base_url=base, secret=secret).start()
        relay = Relay(nginx.layout.rtmp_port)
        artist = User.objects.create_user(username=f"bench-{secrets.token_hex(3)}", password=secrets.token_hex(8),
                                          role=User.Role.ARTIST)
        import requests

        session = requests.Session()
        results = []
        for i in range(args.runs):
            r = one_run(i, args, nginx, relay, base, session, artist)
            results.append(r)
            frags = ", ".join(f"{v:.0f}" for v in r.get("fragment_ms", []))
            print(f"run {i + 1}: connect->API live {r.get('connect_to_api_ms') or float('nan'):.0f} ms; "
                  f"connect->stream:start {r.get('connect_to_socket_ms', float('nan')):.0f} ms; "
                  f"fragment listed after its last frame: [{frags}] ms", flush=True)
        summarize(results, args)
    finally:
        if relay:
            relay.close()
        if nginx:
            nginx.stop()
        for proc in reversed(procs):
            stop_process(proc)
        shutil.rmtree(tmp, ignore_errors=True)


def summarize(results, args):
    def line(name, values):
        values = [v for v in values if v is not None]
        if not values:
            return f"{name}: n/a"
        return (f"{name}: median {statistics.median(values):.0f} ms, min {min(values):.0f}, max {max(values):.0f} "
                f"(n={len(values)})")

    print()
    print(f"{args.runs} runs, {args.size}@{args.fps} fps, 1 s GOP, nginx-rtmp hls_fragment 1s")
    print(line("A. encoder connect -> API reads live", [r.get("connect_to_api_ms") for r in results]))
    print(line("   of which connect -> publish callback accepted", [r.get("connect_to_callback_ms") for r in results]))
    print(line("A. encoder connect -> stream:start on a socket", [r.get("connect_to_socket_ms") for r in results]))
    errors = {r["socket_error"] for r in results if "socket_error" in r}
    if errors:
        print(f"   socket: {'; '.join(sorted(errors))}")
    print(line("B. last frame of a fragment -> fragment listed", [v for r in results for v in r.get("fragment_ms", [])]))
    print(line("B. keyframe that closes it -> fragment listed", [v for r in results for v in r.get("keyframe_ms", [])]))


if __name__ == "__main__":
    main()
