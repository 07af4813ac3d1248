"""The relay supervisor against its faults, with the real nginx-rtmp and real FFmpeg.

`relays_reconcile()` is called directly in a bounded polling loop: it stands for Celery beat.
Processes are identified by the pids the relays recorded (and their output paths), never by name.
"""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import pytest
from django.conf import settings as django_settings
from django.db import connection
from django.utils import timezone

from livestreams.models import Stream
from livestreams.services import stream_end
from livestreams.tests.factories import LiveStreamFactory, StreamFactory
from streaming import ffmpeg
from streaming.models import Relay
from streaming.relays import relays_reconcile
from streaming.testing import wait_until

REPO = Path(__file__).resolve().parents[2]


# --- helpers ---------------------------------------------------------------------------------------

def relay(stream, kind) -> Relay:
    return Relay.objects.select_related("stream").get(stream=stream, kind=kind)


def reconcile_until(predicate, *, timeout: float, message: str):
    """Supervisor passes every 0.2 s (beat, sped up) until `predicate()` holds."""
    def step():
        relays_reconcile()
        return predicate()
    try:
        return wait_until(step, timeout=timeout, interval=0.2, message=message)
    except TimeoutError:
        states = list(Relay.objects.values_list("kind", "state", "pid", "restart_count", "error_tail"))
        raise TimeoutError(f"{message}: relays {states}") from None


def alive(pid: int | None, ticks: int | None) -> bool:
    return bool(pid) and ffmpeg.is_alive(ffmpeg.ProcessHandle(pid, ticks))


def pids_writing_to(path: Path) -> set[int]:
    """Every process whose command line names `path` (a relay's own work folder: its -progress file)."""
    found = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().decode("utf-8", "replace")
        except OSError:
            continue
        if str(path) in cmdline:
            found.add(int(entry.name))
    return found


def wait_live(stream: Stream, timeout: float = 15) -> Stream:
    def live():
        stream.refresh_from_db()
        return stream.status == Stream.Status.LIVE and stream.publisher_active
    wait_until(live, timeout=timeout, message="stream live")
    return stream


@pytest.fixture
def relays_env(media_server, settings, tmp_path):
    """Relays read from the test nginx and write under a temporary media root. Every process a
    relay recorded (`known`, plus the rows at teardown) is killed at the end."""
    settings.MEDIA_ROOT, settings.RELAYS_WORK_ROOT = tmp_path / "media", tmp_path / "work"
    settings.RELAYS_INPUT_URL = media_server.rtmp_url + "/{playback_id}"
    settings.RELAYS_BACKOFF_BASE = 1.0
    settings.RELAYS_RECORD_SEGMENT_SECONDS = 1
    known: set[tuple[int, int]] = set()
    try:
        yield known
    finally:
        known |= {(p, t) for p, t in Relay.objects.exclude(pid=None).values_list("pid", "start_ticks")}
        for pidfile in (tmp_path / "work").glob("*/*/relay.pid"):
            try:
                pid, ticks = (int(x) for x in pidfile.read_text().split())
                known.add((pid, ticks))
            except (OSError, ValueError):
                pass
        for pid, ticks in known:
            ffmpeg.terminate(ffmpeg.ProcessHandle(pid, ticks), grace=0.5)


def remember(known, *relays: Relay) -> None:
    known.update((r.pid, r.start_ticks) for r in relays if r.pid)


# --- the faults ------------------------------------------------------------------------------------

@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_a_killed_relay_runs_again_within_10s_and_the_restart_is_counted(relays_env, encoder):
    stream = StreamFactory(record=True)
    encoder(stream.obs_stream_key)
    wait_live(stream)
    reconcile_until(lambda: relay(stream, "record").state == Relay.State.RUNNING
                    and relay(stream, "thumbnail").state == Relay.State.RUNNING, timeout=15, message="relays running")
    recorder, thumbnailer = relay(stream, "record"), relay(stream, "thumbnail")
    remember(relays_env, recorder, thumbnailer)
    assert recorder.restart_count == 0 and recorder.last_progress.get("progress") == "continue"

    os.kill(recorder.pid, signal.SIGKILL)
    restarted = reconcile_until(
        lambda: (r := relay(stream, "record")).state == Relay.State.RUNNING and r.pid != recorder.pid and r,
        timeout=10, message="recorder running again")
    remember(relays_env, restarted)
    assert restarted.restart_count == 1
    assert alive(restarted.pid, restarted.start_ticks) and not alive(recorder.pid, recorder.start_ticks)
    assert pids_writing_to(restarted.work_dir) == {restarted.pid}
    # The other relay of the stream was not disturbed.
    same = relay(stream, "thumbnail")
    assert (same.pid, same.restart_count) == (thumbnailer.pid, 0) and alive(same.pid, same.start_ticks)


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("phase", ["starting", "backing_off"])
def test_a_stream_that_ends_while_its_relays_start_or_back_off_leaves_no_process(relays_env, encoder, phase):
    stream = StreamFactory(record=True)
    encoder(stream.obs_stream_key)
    wait_live(stream)
    relays_reconcile()
    recorder, thumbnailer = relay(stream, "record"), relay(stream, "thumbnail")
    remember(relays_env, recorder, thumbnailer)
    recorded = {(recorder.pid, recorder.start_ticks), (thumbnailer.pid, thumbnailer.start_ticks)}
    if phase == "starting":
        assert {recorder.state, thumbnailer.state} == {Relay.State.STARTING}
    else:
        os.kill(recorder.pid, signal.SIGKILL)
        reconcile_until(lambda: relay(stream, "record").state == Relay.State.BACKING_OFF, timeout=5,
                        message="recorder backing off")
        assert relay(stream, "record").pid is None
    assert alive(thumbnailer.pid, thumbnailer.start_ticks)

    ended_at = time.monotonic()
    stream_end(stream=stream)
    reconcile_until(lambda: not any(alive(*identity) for identity in recorded)
                    and set(Relay.objects.filter(stream=stream).values_list("state", flat=True)) == {"stopped"},
                    timeout=5, message="every relay process of the stream gone")
    assert time.monotonic() - ended_at < 5
    # Passes after the backoff delay would have elapsed start nothing again.
    deadline = time.monotonic() + 1.5
    while time.monotonic() < deadline:
        relays_reconcile()
        time.sleep(0.2)
    assert list(Relay.objects.filter(stream=stream).exclude(pid=None)) == []
    assert not pids_writing_to(Path(django_settings.RELAYS_WORK_ROOT) / str(stream.pk))


def _reconcile_in_a_new_process(env_settings) -> None:
    """One supervisor pass in a separate Python process (a worker that starts, works and dies). It
    reaches the test database by name: the SQLite file, or the PostgreSQL test database on the
    server DATABASE_URL points at."""
    script = (
        "import sys, django\n"
        "from django.conf import settings\n"
        "settings.DATABASES['default']['NAME'] = sys.argv[1]\n"
        "settings.MEDIA_ROOT, settings.RELAYS_WORK_ROOT, settings.RELAYS_INPUT_URL = sys.argv[2:5]\n"
        "django.setup()\n"
        "from streaming.relays import relays_reconcile\n"
        "relays_reconcile()\n"
    )
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings.test"}
    args = [connection.settings_dict["NAME"], str(env_settings.MEDIA_ROOT), str(env_settings.RELAYS_WORK_ROOT),
            env_settings.RELAYS_INPUT_URL]
    subprocess.run([sys.executable, "-c", script, *args], cwd=REPO, env=env, check=True, timeout=30)


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_a_new_supervisor_adopts_the_running_relays_and_never_doubles_them(relays_env, encoder, settings):
    stream = StreamFactory(record=True)
    encoder(stream.obs_stream_key)
    wait_live(stream)

    _reconcile_in_a_new_process(settings)  # the old worker starts the relays, then is gone
    first = {r.kind: r for r in Relay.objects.filter(stream=stream).select_related("stream")}
    remember(relays_env, *first.values())
    assert set(first) == {"record", "thumbnail"} and all(r.pid for r in first.values())
    assert all(alive(r.pid, r.start_ticks) for r in first.values())  # detached: they outlived it

    # This process is the new worker: its passes adopt them.
    reconcile_until(lambda: all(relay(stream, k).state == Relay.State.RUNNING for k in first), timeout=15,
                    message="adopted relays running")
    for kind, before in first.items():
        now = relay(stream, kind)
        assert (now.pid, now.start_ticks, now.restart_count) == (before.pid, before.start_ticks, 0)
        assert pids_writing_to(now.work_dir) == {now.pid}

    # A crash between spawn and commit loses the pid from the row: the pidfile still names it.
    Relay.objects.filter(stream=stream, kind="record").update(pid=None, start_ticks=None)
    relays_reconcile()
    recorder = relay(stream, "record")
    assert (recorder.pid, recorder.start_ticks) == (first["record"].pid, first["record"].start_ticks)
    assert pids_writing_to(recorder.work_dir) == {recorder.pid}


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_a_killed_celery_worker_is_replaced_and_every_relay_runs_again_never_twice(relays_env, encoder, settings,
                                                                                    redis_server, tmp_path):
    """A real Celery worker with beat supervises the relays; it is killed (-9, with its beat) and a
    new one is started. Throughout, no relay's output folder is ever written by two processes."""
    from livestreams.tests.browser_stack import database_url_for

    stream = StreamFactory(record=True)
    encoder(stream.obs_stream_key)
    wait_live(stream)
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings.local", "DJANGO_LOG_LEVEL": "WARNING",
           "DATABASE_URL": database_url_for(connection), "REDIS_URL": redis_server,
           "DJANGO_MEDIA_ROOT": str(settings.MEDIA_ROOT),
           "RELAYS_WORK_ROOT": str(settings.RELAYS_WORK_ROOT), "RELAYS_INPUT_URL": settings.RELAYS_INPUT_URL,
           "RELAYS_RECONCILE_INTERVAL": "0.5", "MEDIA_SERVER": "nginx-rtmp",
           "NGINX_CONTROL_URL": settings.NGINX_CONTROL_URL, "INGEST_RECONNECT_WINDOW": "2"}

    def start_worker(name: str) -> subprocess.Popen:
        log = open(tmp_path / f"celery-{name}.log", "ab")  # noqa: SIM115 - owned by the child
        try:
            return subprocess.Popen(
                [sys.executable, "-m", "celery", "-A", "config", "worker", "-B", "--pool", "solo", "-l", "warning",
                 "-n", f"{name}@%h", "--schedule", str(tmp_path / f"beat-{name}")],
                cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                start_new_session=True)  # its own group: kill -9 takes the worker and its beat, not the test
        finally:
            log.close()

    most_at_once = 0

    def all_running(since=None):
        nonlocal most_at_once
        relays = list(Relay.objects.filter(stream=stream).select_related("stream"))
        remember(relays_env, *relays)
        for r in relays:
            most_at_once = max(most_at_once, len(pids_writing_to(r.work_dir)))
        return (len(relays) == 2 and all(r.state == Relay.State.RUNNING and alive(r.pid, r.start_ticks)
                                         and (since is None or r.heartbeat_at > since) for r in relays) and relays)

    worker = start_worker("first")
    try:
        before = {r.kind: r for r in wait_until(all_running, timeout=30, interval=0.2,
                                                 message="relays running under the first worker")}
        os.killpg(worker.pid, signal.SIGKILL)
        worker.wait(timeout=10)
        killed_at = timezone.now()
        assert all(alive(r.pid, r.start_ticks) for r in before.values())  # detached: they outlived it

        worker = start_worker("second")
        after = {r.kind: r for r in wait_until(lambda: all_running(since=killed_at), timeout=30, interval=0.2,
                                                message="relays supervised by the second worker")}
        # Adopted, not doubled: the same processes, no restart.
        assert {k: (r.pid, r.start_ticks, r.restart_count) for k, r in after.items()} == \
            {k: (r.pid, r.start_ticks, 0) for k, r in before.items()}

        # And the new worker supervises for real: a relay killed now comes back, counted.
        os.kill(after["record"].pid, signal.SIGKILL)
        wait_until(lambda: (r := relay(stream, "record")).state == Relay.State.RUNNING and r.restart_count == 1
                   and alive(r.pid, r.start_ticks) and (remember(relays_env, r) or True),
                   timeout=15, interval=0.2, message="recorder restarted by the second worker")
        all_running()
    finally:
        if worker.poll() is None:
            os.killpg(worker.pid, signal.SIGKILL)
            worker.wait(timeout=10)
    assert most_at_once == 1


def written(relay: Relay) -> float:
    """Seconds of media the relay's FFmpeg reports having written so far."""
    return ffmpeg.read_progress(relay.work_dir / "progress.log").get("out_time_ms", 0) / 1_000_000


def _extinf_total(playlist: Path) -> tuple[float, list[str]]:
    lines = playlist.read_text().splitlines()
    total = sum(float(line.split(":", 1)[1].rstrip(",").split(",")[0]) for line in lines
                if line.startswith("#EXTINF:"))
    return total, [line for line in lines if line and not line.startswith("#")]


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def record_and_kill_the_recorder(relays_env, encoder, *, before: float, in_all: float) -> SimpleNamespace:
    """A recorded broadcast whose recorder is killed -9 once `before` seconds are recorded; the
    supervisor restarts it; the stream ends once the playlist holds `in_all` seconds. Returns the
    stream, the playlist, both recorder rows and what each recorder reported having written."""
    stream = StreamFactory(record=True)
    encoder(stream.obs_stream_key)
    wait_live(stream)
    reconcile_until(lambda: relay(stream, "record").state == Relay.State.RUNNING, timeout=15,
                    message="recorder running")
    first = relay(stream, "record")
    remember(relays_env, first)
    playlist = first.output_dir / "recording.m3u8"
    wait_until(lambda: playlist.exists() and _extinf_total(playlist)[0] >= before, timeout=10,
               message=f"{before} s recorded")
    first_wrote = written(first)
    os.kill(first.pid, signal.SIGKILL)

    second = reconcile_until(
        lambda: (r := relay(stream, "record")).state == Relay.State.RUNNING and r.pid != first.pid and r,
        timeout=10, message="recorder running again")
    remember(relays_env, second)
    wait_until(lambda: _extinf_total(playlist)[0] >= in_all, timeout=10, message=f"{in_all} s recorded")
    second_wrote = written(second)
    stream_end(stream=stream)
    reconcile_until(lambda: relay(stream, "record").state == Relay.State.STOPPED, timeout=5, message="stopped")
    return SimpleNamespace(stream=stream, playlist=playlist, first=first, second=second,
                           first_wrote=first_wrote, second_wrote=second_wrote)


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_a_recording_whose_recorder_was_killed_mid_stream_stays_playable(relays_env, encoder):
    run = record_and_kill_the_recorder(relays_env, encoder, before=3, in_all=6)
    playlist, second = run.playlist, run.second
    assert not alive(second.pid, second.start_ticks)

    total, segments = _extinf_total(playlist)
    assert len(segments) >= 6
    for name in segments:
        probe = subprocess.run(["ffprobe", "-v", "error", "-show_entries", "format=duration:stream=codec_type",
                                "-of", "default=nw=1", str(playlist.parent / name)],
                               capture_output=True, text=True, timeout=15)
        assert probe.returncode == 0, probe.stderr
        assert "codec_type=video" in probe.stdout and "codec_type=audio" in probe.stdout
    # What stays playable is what the two recorders had written (FFmpeg's own count, one report a
    # second), less the unfinished segment each lost to its kill: a few seconds at most.
    recorded = run.first_wrote + run.second_wrote
    assert recorded - 4 <= total <= recorded + 1.5, (total, recorded)
    # The playlist as a whole opens too (what the replay step will read).
    whole = subprocess.run(["ffprobe", "-v", "error", "-show_entries", "stream=codec_type", "-of", "csv=p=0",
                            str(playlist)], capture_output=True, text=True, timeout=30)
    assert whole.returncode == 0 and "video" in whole.stdout, whole


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_a_relay_that_cannot_open_its_input_backs_off_then_fails_with_ffmpegs_reason(relays_env, settings,
                                                                                       media_server, client_for):
    settings.RELAYS_INPUT_URL = media_server.rtmp_url + "/not-publishing-{playback_id}"
    settings.RELAYS_MAX_FAILURES, settings.RELAYS_BACKOFF_BASE = 3, 0.2
    stream = LiveStreamFactory(record=False)
    pids = set()

    def failed():
        r = relay(stream, "thumbnail")
        if r.pid:
            pids.add((r.pid, r.start_ticks))
            relays_env.add((r.pid, r.start_ticks))
        return r.state == Relay.State.FAILED and r

    thumbnailer = reconcile_until(failed, timeout=30, message="thumbnail relay failed")
    assert thumbnailer.restart_count == 2 and thumbnailer.consecutive_failures == 3
    assert len(pids) == 3 and not any(alive(*identity) for identity in pids)
    assert f"not-publishing-{stream.playback_id}" in thumbnailer.failure_reason
    assert thumbnailer.pid is None and thumbnailer.next_attempt_at is None
    assert not Relay.objects.filter(stream=stream, kind="record").exists()  # recording is off
    # A failed relay stays failed: later passes start nothing.
    relays_reconcile()
    assert relay(stream, "thumbnail").pid is None

    data = client_for(stream.artist).get(f"/api/v1/livestreams/{stream.pk}/relays/").json()
    assert [(r["kind"], r["state"], r["restarts"]) for r in data["relays"]] == [("thumbnail", "failed", 2)]
    assert data["relays"][0]["failure_reason"] == thumbnailer.failure_reason


# --- the API ---------------------------------------------------------------------------------------

@pytest.mark.django_db
def test_relays_api_is_for_the_owner_and_staff(client_for, staff):
    stream = LiveStreamFactory(record=True)
    Relay.objects.create(stream=stream, kind="record", state="running", restart_count=2,
                         last_progress={"frame": 90, "fps": 30.0, "progress": "continue"})
    url = f"/api/v1/livestreams/{stream.pk}/relays/"
    assert client_for(None).get(url).status_code == 401
    assert client_for(StreamFactory().artist).get(url).status_code == 403
    for user in (stream.artist, staff):
        response = client_for(user).get(url)
        assert response.status_code == 200
        [item] = response.json()["relays"]
        assert item["kind"] == "record" and item["state"] == "running" and item["restarts"] == 2
        assert item["progress"]["frame"] == 90 and item["should_run"] is True


# --- restreaming -----------------------------------------------------------------------------------

def restream_relay(stream, destination) -> Relay:
    return Relay.objects.select_related("stream", "destination").get(stream=stream, destination=destination)


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_a_destination_that_refuses_the_connection_fails_alone_with_ffmpegs_reason(relays_env, encoder, settings,
                                                                                   published_events):
    from streaming.models import RestreamDestination
    from streaming.testing import free_port

    settings.RELAYS_MAX_FAILURES, settings.RELAYS_BACKOFF_BASE = 3, 0.2
    stream = StreamFactory(record=True)
    secret = "live_8f3kq-SECRET-9z"
    nowhere = RestreamDestination.objects.create(artist=stream.artist, name="Nowhere", stream_key=secret,
                                                 rtmp_url=f"rtmp://127.0.0.1:{free_port()}/live2")
    nowhere.streams.add(stream)
    encoder(stream.obs_stream_key, seconds=30)
    wait_live(stream)

    def settled():
        for r in Relay.objects.filter(stream=stream).exclude(pid=None):
            relays_env.add((r.pid, r.start_ticks))
        return (restream_relay(stream, nowhere).state == Relay.State.FAILED
                and relay(stream, "record").state == Relay.State.RUNNING)
    reconcile_until(settled, timeout=30, message="restream failed, recorder running")
    failed = restream_relay(stream, nowhere)
    assert failed.output_dir.name == f"restream-{nowhere.pk}"
    assert failed.consecutive_failures == 3 and failed.pid is None
    assert "Connection refused" in failed.failure_reason, failed.failure_reason
    for text in (failed.failure_reason, failed.error_tail, (failed.work_dir / "ffmpeg.log").read_text()):
        assert secret not in text
    # The broadcast and its other relays carried on untouched.
    stream.refresh_from_db()
    recorder = relay(stream, "record")
    assert stream.status == Stream.Status.LIVE and stream.publisher_active
    assert recorder.restart_count == 0 and alive(recorder.pid, recorder.start_ticks)
    # The control room heard about it, with the destination's name and never its key.
    updates = [e["relay"] for g, e in published_events
               if g == f"stream-{stream.pk}.staff" and e["type"] == "stream:relay-update" and e["relay"]["kind"] == "restream"]
    assert updates[-1]["state"] == "failed" and updates[-1]["destination_name"] == "Nowhere"
    assert updates[-1]["destination_id"] == nowhere.pk and "Connection refused" in updates[-1]["failure_reason"]
    assert secret not in repr(published_events)


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_a_restream_copies_the_broadcast_to_another_rtmp_service(relays_env, encoder, tmp_path):
    from streaming.models import RestreamDestination
    from streaming.testing import AcceptAllCallbacks, LocalNginxRtmp

    stream = StreamFactory()
    with AcceptAllCallbacks() as accept, LocalNginxRtmp(callback_base_url=accept.url, app="live2",
                                                          media_root=tmp_path) as service:
        destination = RestreamDestination.objects.create(artist=stream.artist, name="Other service",
                                                         rtmp_url=service.rtmp_url, stream_key="copy-key")
        destination.streams.add(stream)
        encoder(stream.obs_stream_key, seconds=20)
        wait_live(stream)
        running = reconcile_until(lambda: (r := restream_relay(stream, destination)).state == Relay.State.RUNNING and r,
                                  timeout=15, message="restream running")
        remember(relays_env, running)
        assert pids_writing_to(running.work_dir) == {running.pid}

        # The other service receives the copy: its own HLS of "copy-key", at the source's size.
        playlist = service.hls_dir / "copy-key.m3u8"
        fragments = wait_until(lambda: playlist.exists() and [x for x in playlist.read_text().splitlines()
                                                              if x.endswith(".ts")],
                               timeout=10, message="the copy arrives")
        probe = subprocess.run(["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries",
                                "stream=codec_name,width", "-of", "csv=p=0", str(service.hls_dir / fragments[0])],
                               capture_output=True, text=True, timeout=15)
        assert probe.stdout.split()[0] == "h264,640", probe  # (listed once per MPEG-TS program too)

        # The artist unpicks the destination mid-stream: that relay alone stops.
        thumbnailer = relay(stream, "thumbnail")
        destination.streams.remove(stream)
        reconcile_until(lambda: restream_relay(stream, destination).state == Relay.State.STOPPED, timeout=10,
                        message="restream stopped")
        assert not alive(running.pid, running.start_ticks)
        assert relay(stream, "thumbnail").pid == thumbnailer.pid and alive(thumbnailer.pid, thumbnailer.start_ticks)
