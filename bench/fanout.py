"""Fan-out benchmark for the watch socket (issue 4). Runs the real stack on loopback and measures it
against a minimal `websockets.broadcast` reference under the same clients and load.

    .venv/bin/python bench/fanout.py                        # 2,000 viewers, 2 Daphne workers, pubsub layer
    .venv/bin/python bench/fanout.py --viewers 10000 --frame-ms 250 --duration 30
    .venv/bin/python bench/fanout.py --layers core pubsub --no-reference --viewers 2000

What it does, per configuration:
  1. its own redis-server and SQLite file in a temp dir; `migrate`; a live stream; 20 chatters and
     40 reactors with sessions;
  2. WORKERS Daphne processes (config.asgi) on 127.0.0.1, joined by the chosen channels_redis layer;
     viewers are spread over them round-robin (the local nginx does the same in production);
  3. VIEWERS anonymous viewers from CLIENT_PROCS processes (bench/wsclient.py, a lean raw client);
  4. for DURATION s, chat at CHAT_RATE msg/s (text = send time in ns) and reactions at REACTION_RATE/s
     over authenticated sockets;
  5. reports connected viewers, chat latency p50/p99/max (sampled viewers, send -> receive),
     messages lost (stored messages x viewers - distinct seqs received), delivered frames/s and chat
     deliveries/s, server CPU (% of one core) and RSS per connection.
Then the same clients and load against bench/reference_server.py, and the ratios.
"""

import argparse
import asyncio
import json
import multiprocessing as mp
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from wsclient import open_viewer  # noqa: E402

from streaming.testing import free_port, wait_for_port  # noqa: E402

TICK = os.sysconf("SC_CLK_TCK")
EMOJI = ["❤️", "🔥", "👏", "😂", "😮", "🎉"]


def cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def raise_nofile() -> int:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return hard


# --- Client processes -----------------------------------------------------------------------------


def client_main(targets, path, count, sample_every, offset, ready, go_stop, results):
    raise_nofile()
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    asyncio.run(_client(targets, path, count, sample_every, offset, ready, go_stop, results))


async def _client(targets, path, count, sample_every, offset, ready, go_stop, results):
    viewers = []
    gate = asyncio.Semaphore(32)

    async def one(i):
        host, port = targets[(offset + i) % len(targets)]
        async with gate:
            v = await open_viewer(host, port, path + f"?vid=bench-{offset + i:08d}",
                                  sample=(offset + i) % sample_every == 0)
        if v is not None:
            viewers.append(v)

    await asyncio.gather(*(one(i) for i in range(count)))
    ready.put(len(viewers))
    while not go_stop.is_set():
        await asyncio.sleep(0.2)
    latencies = [x for v in viewers for x in v.latencies]
    results.put({
        "connected": len(viewers),
        "open_at_end": sum(1 for v in viewers if not v.closed),
        "frames": sum(v.frames for v in viewers),
        "received": [v.received for v in viewers],
        "latencies": latencies,
        "errors": sum(len(v.errors) for v in viewers),
    })
    for v in viewers:
        v.transport.close()


# --- Load ---------------------------------------------------------------------------------------


async def drive_load(targets, path, chat_cookies, react_cookies, chat_rate, reaction_rate, duration):
    """Chat and reactions from authenticated sockets. Returns (chat sent, reactions sent, errors)."""
    async def open_all(cookies):
        socks = []
        for i, cookie in enumerate(cookies):
            host, port = targets[i % len(targets)]
            v = await open_viewer(host, port, path, cookie=cookie)
            if v is None:
                raise RuntimeError("a sender could not connect")
            socks.append(v)
        return socks

    chatters, reactors = await open_all(chat_cookies), await open_all(react_cookies)
    await asyncio.sleep(1)
    sent = {"chat": 0, "reactions": 0}

    async def pace(rate, socks, make, key):
        start, n = time.monotonic(), 0
        while time.monotonic() - start < duration:
            n += 1
            target = start + n / rate
            delay = target - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            socks[n % len(socks)].send(make(n))
            sent[key] += 1

    await asyncio.gather(
        pace(chat_rate, chatters, lambda n: json.dumps({"type": "chat.send", "text": f"t{time.time_ns()}"}).encode(),
             "chat"),
        pace(reaction_rate, reactors,
             lambda n: json.dumps({"type": "reaction.send", "emoji": EMOJI[n % len(EMOJI)]}).encode(), "reactions"),
    )
    await asyncio.sleep(0.5)
    errors = [e for v in chatters + reactors for e in v.errors]
    for v in chatters + reactors:
        v.transport.close()
    return sent["chat"], sent["reactions"], errors


def run_load(*, name, targets, path, server_pids, args, chat_cookies, react_cookies, stored_messages):
    """Connect the viewers, drive the load, collect figures."""
    ctx = mp.get_context("fork")
    ready, results, go_stop = ctx.Queue(), ctx.Queue(), ctx.Event()
    per = [args.viewers // args.client_procs + (1 if i < args.viewers % args.client_procs else 0)
           for i in range(args.client_procs)]
    rss_before = sum(rss_mb(p) for p in server_pids)
    t0 = time.monotonic()
    procs, offset = [], 0
    for count in per:
        proc = ctx.Process(target=client_main,
                           args=(targets, path, count, args.sample_every, offset, ready, go_stop, results))
        proc.start()
        procs.append(proc)
        offset += count
    connected = sum(ready.get(timeout=args.connect_timeout) for _ in procs)
    connect_s = time.monotonic() - t0
    print(f"[{name}] {connected}/{args.viewers} viewers connected in {connect_s:.1f}s; load {os.getloadavg()}",
          flush=True)
    time.sleep(2)
    cpu0 = {p: cpu_seconds(p) for p in server_pids}
    client_cpu0 = sum(cpu_seconds(p.pid) for p in procs)
    wall0 = time.monotonic()
    chat_sent, reactions_sent, errors = asyncio.run(
        drive_load(targets, path, chat_cookies, react_cookies, args.chat_rate, args.reaction_rate, args.duration)
    )
    time.sleep(args.drain)
    wall = time.monotonic() - wall0
    cpu = sum(cpu_seconds(p) - cpu0[p] for p in server_pids) / wall
    client_cpu = (sum(cpu_seconds(p.pid) for p in procs) - client_cpu0) / wall
    rss_after = sum(rss_mb(p) for p in server_pids)
    load = os.getloadavg()
    go_stop.set()
    parts = [results.get(timeout=120) for _ in procs]
    for proc in procs:
        proc.join(timeout=30)
    expected = stored_messages() if stored_messages else chat_sent
    received = [r for part in parts for r in part["received"]]
    latencies = sorted(x for part in parts for x in part["latencies"])
    frames = sum(part["frames"] for part in parts)
    lost = sum(max(0, expected - r) for r in received)

    def pct(q):
        return latencies[min(len(latencies) - 1, int(q * len(latencies)))] if latencies else float("nan")

    return {
        "name": name, "viewers": args.viewers, "connected": connected,
        "open_at_end": sum(part["open_at_end"] for part in parts), "connect_s": round(connect_s, 1),
        "chat_sent": chat_sent, "chat_stored": expected, "reactions_sent": reactions_sent,
        "sender_errors": len(errors), "sender_error_sample": [e.decode(errors="replace") for e in errors[:3]],
        "lost": lost, "lost_pct": round(100 * lost / max(1, expected * len(received)), 3),
        "p50_s": round(pct(0.50), 3), "p99_s": round(pct(0.99), 3), "max_s": round(latencies[-1], 3) if latencies else None,
        "latency_samples": len(latencies),
        "frames_per_s": round(frames / wall), "chat_deliveries_per_s": round(sum(received) / wall),
        "server_cpu_pct_of_core": round(100 * cpu), "client_cpu_pct_of_core": round(100 * client_cpu),
        "server_rss_mb": round(rss_after), "rss_kb_per_conn": round(1024 * (rss_after - rss_before) / max(1, connected), 1),
        "loadavg_end": [round(x, 2) for x in load], "window_s": round(wall, 1),
    }


# --- The stacks ---------------------------------------------------------------------------------


def setup_django(db_path: Path, redis_url: str):
    os.environ.update({"DJANGO_SETTINGS_MODULE": "config.settings.local", "DATABASE_URL": f"sqlite:///{db_path}",
                       "REDIS_URL": redis_url, "DJANGO_DEBUG": "false", "DJANGO_LOG_LEVEL": "WARNING"})
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def make_fixtures(chatters: int, reactors: int):
    from django.test import Client

    from accounts.tests.factories import ArtistFactory, UserFactory
    from livestreams.tests.factories import LiveStreamFactory

    artist = ArtistFactory(username=f"bench-artist-{time.time_ns()}")
    stream = LiveStreamFactory(artist=artist)

    def cookies(prefix, n):
        out = []
        for i in range(n):
            user = UserFactory(username=f"{prefix}-{stream.pk.hex[:8]}-{i}")
            client = Client()
            client.force_login(user)
            out.append(f"sessionid={client.cookies['sessionid'].value}")
        return out

    return stream, cookies("chat", chatters), cookies("react", reactors)


def start_daphnes(n, env, logdir):
    procs, ports = [], []
    for i in range(n):
        port = free_port()
        cmd = [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port), "config.asgi:application"]
        procs.append(subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=open(logdir / f"daphne-{i}.log", "wb"),
                                      stderr=subprocess.STDOUT, preexec_fn=raise_nofile))
        ports.append(port)
    for port in ports:
        wait_for_port(port, timeout=30)
    return procs, ports


def stop(procs):
    for p in procs:
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
    for p in procs:
        try:
            p.wait(timeout=20)
        except subprocess.TimeoutExpired:
            p.kill()


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--viewers", type=int, default=2000)
    parser.add_argument("--duration", type=float, default=20)
    parser.add_argument("--drain", type=float, default=3)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--layers", nargs="+", default=["pubsub"], choices=["pubsub", "core"])
    parser.add_argument("--frame-ms", type=int, default=150)
    parser.add_argument("--chat-rate", type=float, default=20)
    parser.add_argument("--reaction-rate", type=float, default=200)
    parser.add_argument("--client-procs", type=int, default=2)
    parser.add_argument("--sample-every", type=int, default=10, help="1 in N viewers measures latency")
    parser.add_argument("--connect-timeout", type=float, default=600)
    parser.add_argument("--no-reference", action="store_true")
    parser.add_argument("--reference-only", action="store_true")
    parser.add_argument("--keep", action="store_true", help="keep the temp dir (Daphne logs)")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()
    if args.viewers > 10000:
        parser.error("at most 10,000 viewers")
    print(f"nofile limit {raise_nofile()}; load {os.getloadavg()}", flush=True)

    tmp = Path(tempfile.mkdtemp(prefix="backline-bench-"))
    redis_port = free_port()
    redis = subprocess.Popen([shutil.which("redis-server"), "--port", str(redis_port), "--bind", "127.0.0.1",
                              "--save", "", "--appendonly", "no", "--dir", str(tmp), "--maxclients", "20000"],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    redis_url = f"redis://127.0.0.1:{redis_port}/0"
    results = []
    try:
        wait_for_port(redis_port, timeout=30)
        setup_django(tmp / "bench.sqlite3", redis_url)
        from django.db import connection

        from livestreams.models import ChatMessage

        if not args.reference_only:
            for layer in args.layers:
                stream, chat_cookies, react_cookies = make_fixtures(20, 40)
                connection.close()
                env = {**os.environ, "REALTIME_CHANNEL_LAYER": layer, "REALTIME_FRAME_MS": str(args.frame_ms),
                       "REALTIME_CHAT_PER_10S": "1000", "REALTIME_REACTIONS_PER_S": "1000",
                       "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost"}
                procs, ports = start_daphnes(args.workers, env, tmp)
                try:
                    stream_id = stream.pk
                    results.append(run_load(
                        name=f"backline-{layer}-{args.workers}w-{args.frame_ms}ms",
                        targets=[("127.0.0.1", p) for p in ports], path=f"/ws/livestreams/{stream.pk}/",
                        server_pids=[p.pid for p in procs] + [redis.pid], args=args,
                        chat_cookies=chat_cookies, react_cookies=react_cookies,
                        stored_messages=lambda: ChatMessage.objects.filter(stream_id=stream_id).count(),
                    ))
                finally:
                    stop(procs)
                print(json.dumps(results[-1]), flush=True)
        if not args.no_reference:
            port = free_port()
            ref = subprocess.Popen([sys.executable, str(ROOT / "bench" / "reference_server.py"), str(port)],
                                   preexec_fn=raise_nofile)
            try:
                wait_for_port(port, timeout=30)
                results.append(run_load(
                    name="reference-websockets.broadcast", targets=[("127.0.0.1", port)], path="/",
                    server_pids=[ref.pid], args=args, chat_cookies=[""] * 20, react_cookies=[""] * 40,
                    stored_messages=None,
                ))
            finally:
                stop([ref])
            print(json.dumps(results[-1]), flush=True)
    finally:
        stop([redis])
        if args.keep:
            print(f"logs kept in {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)

    keys = ["connected", "open_at_end", "p50_s", "p99_s", "max_s", "lost", "chat_deliveries_per_s", "frames_per_s",
            "server_cpu_pct_of_core", "rss_kb_per_conn", "loadavg_end"]
    print("\n" + " | ".join(["run", *keys]))
    for r in results:
        print(" | ".join([r["name"], *(str(r[k]) for k in keys)]))
    ref = next((r for r in results if r["name"].startswith("reference")), None)
    if ref:
        for r in results:
            if r is ref:
                continue
            throughput = r["chat_deliveries_per_s"] / max(1, ref["chat_deliveries_per_s"])
            p99 = r["p99_s"] / ref["p99_s"] if ref["p99_s"] else float("nan")
            print(f"{r['name']}: throughput {throughput:.2f}x the reference; p99 {p99:.2f}x the reference's")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
