"""Real browsers against the real stack: Debian's Chromium (Playwright), Daphne (HTTP + WebSockets),
a real Redis, the real nginx-rtmp and ffmpeg publishing a test pattern, and a Celery worker with
beat (stats polling -> health). Screenshots land in artifacts/screenshots/.

Lean on purpose (2 shared cores): one Daphne, one Chromium per module, a few contexts."""

import os
import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.db import connection
from django.utils import timezone

from accounts.models import Follow
from accounts.tests.factories import ArtistFactory, UserFactory
from livestreams.models import Stream
from livestreams.tests.browser_stack import (
    CHROMIUM, CHROMIUM_ARGS, BackendStack, database_url_for, launch_chromium, login, set_portable_password,
)
from livestreams.tests.factories import LiveStreamFactory, StreamFactory
from streaming.testing import stop_process

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

PASSWORD = "a-long-test-password"
SHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"


@pytest.fixture(scope="module")
def stack(django_db_setup, django_db_blocker, redis_server, tmp_path_factory):
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: run `make test`, which installs Debian's chromium")
    with django_db_blocker.unblock():
        database_url = database_url_for(connection)
    with BackendStack(database_url=database_url, redis_url=redis_server, celery=True,
                      log_dir=tmp_path_factory.mktemp("browser-stack"),
                      extra_env={"INGEST_RECONNECT_WINDOW": "3"}) as running:
        yield running


@pytest.fixture(autouse=True)
def worker_only_during_the_test(stack, transactional_db):
    """Celery runs while a test runs and has stopped before its database is flushed."""
    stack.start_worker()
    yield
    stack.stop_worker()


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop in this thread; the ORM calls the tests make between
    # browser steps are still plain synchronous code (the usual pytest-playwright + Django set-up).
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    with sync_playwright() as playwright:
        chromium = launch_chromium(playwright)
        try:
            yield chromium
        finally:
            chromium.close()
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)


@pytest.fixture
def new_context(browser, stack):
    contexts = []

    def make(user=None, **kwargs):
        kwargs.setdefault("viewport", {"width": 1366, "height": 860})
        kwargs.setdefault("color_scheme", "dark")
        context = browser.new_context(base_url=stack.url, **kwargs)
        contexts.append(context)
        if user is not None:
            set_portable_password(user, PASSWORD)
            login(context, stack.url, user.username, PASSWORD)
        return context

    try:
        yield make
    finally:
        for context in contexts:
            context.close()


def shot(page, name: str, **kwargs) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.evaluate("window.scrollTo(0, 0)")  # sticky header and chat: shoot from the top
    page.screenshot(path=str(SHOTS / f"{name}.png"), **kwargs)


def create_in_studio(page, title: str, *, preset: str, description: str = "") -> Stream:
    """The artist fills the studio's new-stream form (recording on) and lands in the control room."""
    page.goto("/studio/")
    page.fill("#id_title", title)
    if description:
        page.fill("#id_description", description)
    page.select_option("#id_quality_preset", preset)
    page.check("#id_record")
    page.click("form[data-stream-form] button[type=submit]")
    page.wait_for_url("**/studio/livestreams/*/")
    return Stream.objects.get(title=title)


def wait_socket_open(page):
    from playwright.sync_api import expect

    expect(page.locator("[data-conn]")).to_have_text("live", timeout=15000)


def test_page_opened_before_start_plays_when_the_encoder_connects(stack, new_context, browser):
    from playwright.sync_api import expect

    artist = ArtistFactory(username="nightowls")
    artist.channel.display_name = "The Night Owls"
    artist.channel.save()
    stream = StreamFactory(artist=artist, title="Album preview, live from the studio",
                           scheduled_at=timezone.now() + timedelta(minutes=3),
                           description="First time playing the new songs live. Chords: https://example.com/chords")
    other = ArtistFactory(username="mirasol")
    StreamFactory(artist=other, title="Rooftop sessions", scheduled_at=timezone.now() + timedelta(hours=5))
    LiveStreamFactory(artist=other, title="Piano & rain", status=Stream.Status.ENDED,
                      started_at=timezone.now() - timedelta(hours=3), ended_at=timezone.now() - timedelta(hours=2))

    page = new_context(UserFactory(username="juno")).new_page()
    page.goto(f"/livestreams/{stream.pk}/")
    expect(page.locator("[data-overlay]")).to_contain_text("Starting soon")
    expect(page.locator("[data-overlay] time[data-countdown]")).to_contain_text("Starts in")
    wait_socket_open(page)
    page.evaluate("window.__noReload = true")
    assert page.evaluate("document.querySelector('video').currentTime") == 0

    stack.publish(stream.obs_stream_key)
    page.wait_for_function("document.querySelector('[data-player]').dataset.state === 'live'", timeout=20000)
    page.wait_for_function("document.querySelector('video').currentTime > 1", timeout=30000)
    first = page.evaluate("document.querySelector('video').currentTime")
    time.sleep(2)
    assert page.evaluate("document.querySelector('video').currentTime") > first + 1  # it plays
    assert page.evaluate("window.__noReload === true")  # same page: started by `stream:start`
    expect(page.locator(".stream-heading [data-live-badge]")).to_be_visible()
    assert page.evaluate("document.querySelector('video').paused") is False
    latency = page.evaluate("window.__player.latency()")
    assert latency is not None and 0 < latency < 6, latency
    page.fill("[data-chat-input]", "Finally! Been waiting all week for this 🎶 https://example.com/tour")
    page.press("[data-chat-input]", "Enter")
    expect(page.locator(".chat-msg", has_text="Finally!")).to_be_visible(timeout=5000)
    for _ in range(3):
        page.locator("[data-reactions] button").first.click()
    expect(page.locator(".float-emoji").first).to_be_attached(timeout=5000)
    page.mouse.move(400, 300)
    page.wait_for_timeout(600)
    shot(page, "watch")

    # A browser that wants a gesture for sound: playback starts muted, with an obvious unmute.
    strict = browser.browser_type.launch(
        executable_path=CHROMIUM, headless=True,
        args=[a for a in CHROMIUM_ARGS if not a.startswith("--autoplay-policy")]
        + ["--autoplay-policy=document-user-activation-required"])
    try:
        muted_page = strict.new_page(base_url=stack.url)
        muted_page.goto(f"/livestreams/{stream.pk}/")
        expect(muted_page.locator("[data-unmute]")).to_be_visible(timeout=30000)
        muted_page.wait_for_function("document.querySelector('video').currentTime > 0.5", timeout=30000)
        assert muted_page.evaluate("document.querySelector('video').muted") is True
        muted_page.click("[data-unmute]")
        assert muted_page.evaluate("document.querySelector('video').muted") is False
        expect(muted_page.locator("[data-unmute]")).to_be_hidden()
    finally:
        strict.close()

    home = new_context().new_page()
    home.goto("/")
    expect(home.locator(".stream-card.is-live")).to_have_count(1)
    expect(home.locator(".stream-card.is-live .badge.live")).to_have_text("LIVE")
    shot(home, "home", full_page=True)

    # The encoder drops: "reconnecting"; the reconnect window (3 s here) closes: "stream ended".
    stop_process(stack.encoders[-1])
    expect(page.locator("[data-overlay]")).to_contain_text("Reconnecting", timeout=15000)
    expect(page.locator("[data-overlay]")).to_contain_text("Stream ended", timeout=30000)
    assert page.evaluate("window.__noReload === true")


def test_chat_reactions_and_moderation_across_two_browsers(stack, new_context):
    from playwright.sync_api import expect

    artist = ArtistFactory(username="nightowls")
    fan = UserFactory(username="juno")
    stream = LiveStreamFactory(artist=artist, title="Chat test", publisher_active=False)

    artist_page = new_context(artist).new_page()
    fan_page = new_context(fan).new_page()
    anonymous_page = new_context().new_page()
    for page in (artist_page, fan_page, anonymous_page):
        page.goto(f"/livestreams/{stream.pk}/")
        wait_socket_open(page)
    expect(anonymous_page.locator(".chat-invite")).to_contain_text("Log in")
    expect(anonymous_page.locator("[data-chat-form]")).to_have_count(0)

    text = "hello from juno <b>not bold</b> https://example.com/setlist"
    fan_page.fill("[data-chat-input]", text)
    fan_page.press("[data-chat-input]", "Enter")
    for page in (artist_page, fan_page, anonymous_page):
        expect(page.locator(".chat-msg", has_text="hello from juno")).to_be_visible(timeout=5000)
    message = artist_page.locator(".chat-msg", has_text="hello from juno")
    assert message.locator("b").count() == 0  # text, never HTML
    link = message.locator("a")
    assert link.get_attribute("href") == "https://example.com/setlist"
    assert set(link.get_attribute("rel").split()) >= {"nofollow", "noopener"}

    fan_page.locator("[data-reactions] button").first.click()
    for page in (artist_page, fan_page, anonymous_page):
        expect(page.locator(".float-emoji").first).to_be_attached(timeout=5000)
    # The floating layer never takes clicks away from the video.
    assert fan_page.evaluate("getComputedStyle(document.querySelector('[data-reaction-layer]')).pointerEvents") == "none"

    # Following from the watch page keeps the page (and the video) where it is.
    fan_page.evaluate("window.__noReload = true")
    fan_page.click("form[data-follow] button")
    expect(fan_page.locator("form[data-follow] button")).to_have_text("Following ✓")
    assert Follow.objects.filter(follower=fan, channel=artist.channel).exists()
    assert fan_page.evaluate("window.__noReload === true")

    # On a phone the chat sits below the player.
    phone = new_context(fan, viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True).new_page()
    phone.goto(f"/livestreams/{stream.pk}/")
    expect(phone.locator(".chat-msg", has_text="hello from juno")).to_be_visible(timeout=10000)
    player_box, chat_box = phone.locator("[data-player]").bounding_box(), phone.locator("[data-chat]").bounding_box()
    assert chat_box["y"] >= player_box["y"] + player_box["height"]
    shot(phone, "watch-phone", full_page=True)

    # The fan has no moderation menu; the artist does.
    assert fan_page.locator(".mod-btn").count() == 0
    message.hover()
    message.locator(".mod-btn").click()
    artist_page.locator(".mod-menu button", has_text="Delete").click()
    for page in (artist_page, fan_page, anonymous_page):
        expect(page.locator(".chat-msg", has_text="hello from juno")).to_have_count(0, timeout=5000)

    # "Live" but no encoder behind it: the player keeps retrying and says so.
    expect(anonymous_page.locator("[data-overlay]")).to_contain_text("Trouble reaching the stream", timeout=40000)


def test_artist_creates_a_stream_reveals_and_copies_the_key_and_ends_it(stack, new_context):
    from playwright.sync_api import expect

    artist = ArtistFactory(username="nightowls")
    context = new_context(artist)
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=stack.url)
    page = context.new_page()
    stream = create_in_studio(page, "Late night set", preset="source", description="Requests welcome.")
    assert stream.artist == artist and stream.record

    key_input = page.locator("#obs-key")
    expect(key_input).to_have_attribute("type", "password")  # masked
    assert stream.stream_key not in page.locator("main").inner_text()
    page.click("[data-reveal='#obs-key']")
    expect(key_input).to_have_attribute("type", "text")
    assert key_input.input_value() == stream.obs_stream_key
    page.click("[data-copy='#obs-key']")
    assert page.evaluate("navigator.clipboard.readText()") == stream.obs_stream_key
    page.click("[data-reveal='#obs-key']")
    expect(key_input).to_have_attribute("type", "password")

    # Go live with the copied key, as OBS would.
    stack.publish(page.evaluate("navigator.clipboard.readText()"))
    expect(page.locator("[data-status]")).to_have_text("Live", timeout=20000)
    page.wait_for_function("document.querySelector('video').currentTime > 1", timeout=30000)
    expect(page.locator("[data-stat='bitrate']")).not_to_have_text("–", timeout=20000)  # health over the socket
    page.wait_for_function("window.__graphs.bitrate.points.length >= 6", timeout=20000)  # a curve, not a dot
    shot(page, "control-room", full_page=True)

    page.click("[data-end-stream]")
    page.click("dialog.confirm [data-confirm-ok]")
    expect(page.locator(".flash")).to_contain_text("Stream ended")
    stream.refresh_from_db()
    assert stream.status == Stream.Status.ENDED
    expect(page.locator("[data-overlay]")).to_contain_text("Stream ended")


def test_pages_work_without_javascript(stack, new_context):
    from playwright.sync_api import expect

    artist = ArtistFactory(username="nightowls")
    stream = StreamFactory(artist=artist, title="Acoustic Sunday", scheduled_at=timezone.now() + timedelta(days=1))
    page = new_context(artist, java_script_enabled=False).new_page()
    page.goto("/")
    expect(page.locator(".stream-card", has_text="Acoustic Sunday")).to_be_visible()
    page.goto(f"/livestreams/{stream.pk}/")
    expect(page.locator("[data-overlay]")).to_contain_text("Starting soon")
    expect(page.locator("[data-overlay] time")).to_contain_text("UTC")  # the schedule, server-rendered
    page.goto(f"/studio/livestreams/{stream.pk}/")
    key = page.locator("#obs-key")
    expect(key).to_have_attribute("type", "text")  # without JavaScript the owner reads it as is
    assert key.input_value() == stream.obs_stream_key
    assert page.locator("#obs-server").input_value() == stack.nginx.rtmp_url


def test_a_reconnecting_page_fetches_the_chat_it_missed(stack, new_context):
    from playwright.sync_api import expect

    artist = ArtistFactory(username="nightowls")
    fan = UserFactory(username="juno")
    stream = LiveStreamFactory(artist=artist, title="Gap test", publisher_active=False)
    fan_page = new_context(fan).new_page()
    artist_page = new_context(artist).new_page()
    for page in (fan_page, artist_page):
        page.goto(f"/livestreams/{stream.pk}/")
        wait_socket_open(page)

    # The fan's socket drops (and stays down) while two messages are posted.
    fan_page.evaluate("window.__realtime.closedByUs = true; window.__realtime.socket.close()")
    expect(fan_page.locator("[data-conn]")).to_have_text("closed")
    for text in ("missed one", "missed two"):
        artist_page.evaluate("""(text) => fetch(location.pathname.replace('/livestreams/', '/api/v1/livestreams/') + 'chat/', {
            method: 'POST', credentials: 'same-origin', body: JSON.stringify({text}),
            headers: {'Content-Type': 'application/json',
                      'X-CSRFToken': document.querySelector('input[name=csrfmiddlewaretoken]').value}})""", text)
    expect(artist_page.locator(".chat-msg", has_text="missed two")).to_be_visible(timeout=5000)
    assert fan_page.locator(".chat-msg", has_text="missed").count() == 0

    fan_page.evaluate("window.__realtime.connect()")  # hello.last_seq > ours -> chat.sync
    expect(fan_page.locator(".chat-msg", has_text="missed one")).to_be_visible(timeout=10000)
    expect(fan_page.locator(".chat-msg", has_text="missed two")).to_be_visible()
    texts = fan_page.locator(".chat-msg .text").all_inner_texts()
    assert texts == ["missed one", "missed two"]  # in order, no duplicates


def test_a_replay_plays_with_its_chat_replayed_in_sync(stack, new_context):
    """An archived stream's page plays its MP4 replay (served by the media server at /media/) and
    shows each chat message once the video reaches the moment it was sent; seeking back rewinds
    the chat."""
    import subprocess

    from django.conf import settings
    from playwright.sync_api import expect

    from livestreams.models import ChatMessage, Replay

    started = timezone.now() - timedelta(minutes=10)
    stream = StreamFactory(title="Last night's set, again", record=True)
    Stream.objects.filter(pk=stream.pk).update(status=Stream.Status.ARCHIVED, started_at=started,
                                               ended_at=started + timedelta(seconds=8), archived_at=timezone.now())
    folder = Path(settings.MEDIA_ROOT) / "replays" / str(stream.pk)
    folder.mkdir(parents=True)
    subprocess.run(["ffmpeg", "-v", "error", "-f", "lavfi", "-i", "testsrc2=size=320x180:rate=25", "-f", "lavfi",
                    "-i", "sine=frequency=440", "-t", "8", "-c:v", "libx264", "-preset", "ultrafast",
                    "-pix_fmt", "yuv420p", "-c:a", "aac", "-movflags", "+faststart", str(folder / "replay.mp4")],
                   check=True, timeout=60)
    Replay.objects.create(stream=stream, status=Replay.Status.READY, progress=1.0, duration_seconds=8.0,
                          video_path=f"replays/{stream.pk}/replay.mp4", ready_at=timezone.now(),
                          size_bytes=(folder / "replay.mp4").stat().st_size)
    fan = UserFactory(username="replayfan")
    for seq, (text, offset) in enumerate([("first song!", 1), ("encore <b>please</b>", 5)], start=1):
        message = ChatMessage.objects.create(stream=stream, user=fan, text=text, seq=seq)
        ChatMessage.objects.filter(pk=message.pk).update(created_at=started + timedelta(seconds=offset))

    page = new_context().new_page()
    page.goto(f"/livestreams/{stream.pk}/")
    log = page.locator("[data-replay-chat] [data-chat-log]")
    expect(page.locator("[data-chat-input], textarea[name=text]")).to_have_count(0)  # no live chat on a replay
    expect(log).not_to_contain_text("first song!")
    page.click("[data-replay-start]")
    current = "document.querySelector('[data-video]').currentTime"
    page.wait_for_function(f"{current} > 1.3", timeout=20000)
    expect(log).to_contain_text("first song!")
    if page.evaluate(current) < 4.5:
        assert "encore" not in log.inner_text()
    page.wait_for_function(f"{current} > 5.3", timeout=20000)
    expect(log).to_contain_text("encore <b>please</b>")  # plain text, not markup
    assert log.locator("b").count() == 0
    shot(page, "replay")
    page.evaluate(f"document.querySelector('[data-video]').pause(); {current} = 0.2")
    expect(log).not_to_contain_text("first song!", timeout=5000)


def test_a_fan_switches_quality_once_the_ladder_runs(stack, new_context):
    """Adaptive bitrate end to end: the stream goes live on its source; the worker's supervisor starts
    the transcode ladder, the open page is told (stream:settings with the master playlist) and
    switches without a reload; the fan then picks a rendition by hand and gets it."""
    from playwright.sync_api import expect

    stream = StreamFactory(title="Ladder night", quality_preset=Stream.QualityPreset.P480)
    page = new_context(UserFactory(username="switcher")).new_page()
    page.goto(f"/livestreams/{stream.pk}/")
    wait_socket_open(page)
    page.evaluate("window.__noReload = true")
    encoder = stack.publish(stream.obs_stream_key, size="854x480")  # ladder: the source + 360p
    try:
        page.wait_for_function("document.querySelector('video').currentTime > 0.5", timeout=30000)
        master = f"/relays/{stream.pk}/transcode/master.m3u8"
        page.wait_for_function(f"window.__player.url.endsWith('{master}')", timeout=45000)
        page.wait_for_function("window.__hls && window.__hls.levels.length === 2", timeout=20000)
        # hls.js ranks levels by declared bandwidth: the source must rank above the rung made from it.
        assert page.evaluate("window.__hls.levels.map(l => l.height)") == [360, 480]
        quality = page.locator("[data-quality]")
        expect(quality).to_be_visible()
        assert quality.locator("option").count() == 3  # Auto + two renditions
        stream.refresh_from_db()
        assert stream.abr_active and stream.hls_url.endswith(master)

        video = "document.querySelector('video')"
        for height in (480, 360):  # the fan picks each rendition by hand, and sees it
            index = page.evaluate(f"window.__hls.levels.findIndex(l => l.height === {height})")
            quality.select_option(str(index))
            page.wait_for_function(f"window.__hls.loadLevel === {index}", timeout=5000)
            page.wait_for_function(f"{video}.videoHeight === {height}", timeout=20000)
            at = page.evaluate(f"{video}.currentTime")
            page.wait_for_function(f"{video}.currentTime > {at} + 1", timeout=20000)
        assert page.evaluate("window.__noReload === true")
    finally:
        stop_process(encoder)


def test_an_artist_streams_with_abr_recording_and_simulcast_and_fans_get_the_replay(stack, new_context, tmp_path):
    """The whole relay story in one show: the artist picks the 720p ladder, recording and a
    simulcast destination, goes live and watches the relays run in the control room; a fan
    switches quality and chats; after the end the fan's open page offers the replay, which plays
    with the chat replayed at its moment."""
    import requests
    from playwright.sync_api import expect

    from streaming.models import Relay, RestreamDestination
    from streaming.testing import AcceptAllCallbacks, LocalNginxRtmp, wait_until

    artist = ArtistFactory(username="fullshow")
    with AcceptAllCallbacks() as accept, LocalNginxRtmp(callback_base_url=accept.url, app="live2",
                                                          media_root=tmp_path) as service:
        RestreamDestination.objects.create(artist=artist, name="Other service", rtmp_url=service.rtmp_url,
                                           stream_key="copy-key-0123456789")
        studio = new_context(artist).new_page()
        stream = create_in_studio(studio, "Full show", preset="720p")
        studio.locator("[data-destination-choices] input").check()
        studio.click("[data-destinations-form] button[type=submit]")
        wait_until(lambda: stream.restream_destinations.exists(), timeout=5, message="destination picked")

        fan = UserFactory(username="laddersfan")
        watch = new_context(fan).new_page()
        watch.goto(f"/livestreams/{stream.pk}/")
        wait_socket_open(watch)
        watch.evaluate("window.__noReload = true")
        encoder = stack.publish(stream.obs_stream_key, size="1280x720", video_bitrate="1500k")
        try:
            # The control room: four relays running (ladder, recording, thumbnails, the simulcast),
            # their FFmpeg progress moving.
            rows = studio.locator("[data-relay-list] .relay-row")
            expect(rows).to_have_count(4, timeout=30000)
            expect(studio.locator("[data-relay-list] .relay-row[data-state=running]")).to_have_count(4, timeout=45000)
            expect(studio.locator(".relay-restream .relay-badge")).to_have_text("live")
            frames = studio.locator(".relay-record .relay-progress")
            expect(frames).to_contain_text("frames")
            before = frames.inner_text()
            expect(frames).not_to_have_text(before, timeout=10000)
            shot(studio, "control-room-relays", full_page=True)
            # The simulcast reaches the other service.
            wait_until(lambda: (service.hls_dir / "copy-key-0123456789.m3u8").exists(), timeout=15,
                       message="the copy arrives")

            # The fan's player moves to the ladder by itself and offers source, 480p and 360p.
            watch.wait_for_function("window.__hls && window.__hls.levels.length === 3", timeout=45000)
            assert watch.evaluate("window.__hls.levels.map(l => l.height)") == [360, 480, 720]
            index = watch.evaluate("window.__hls.levels.findIndex(l => l.height === 360)")
            watch.locator("[data-quality]").select_option(str(index))
            watch.wait_for_function("document.querySelector('video').videoHeight === 360", timeout=20000)
            watch.fill("[data-chat-input]", "what a night")
            watch.press("[data-chat-input]", "Enter")
            expect(watch.locator(".chat-msg", has_text="what a night")).to_be_visible(timeout=5000)
            time.sleep(4)  # some show after the message

            studio.click("[data-end-stream]")
            studio.click("dialog.confirm [data-confirm-ok]")
            expect(watch.locator("[data-overlay]")).to_contain_text("The replay appears here", timeout=15000)
            # The worker builds the replay; the control room shows it and the fan's page offers it.
            expect(watch.locator("[data-replay-ready]")).to_be_visible(timeout=60000)
            expect(studio.locator("[data-replay-panel] [data-replay-duration]")).to_be_visible(timeout=15000)
            assert watch.evaluate("window.__noReload === true")
            stream.refresh_from_db()
            assert stream.status == Stream.Status.ARCHIVED
            assert not Relay.objects.filter(stream=stream).exclude(pid=None).exists()
        finally:
            stop_process(encoder)

    watch.click("[data-replay-ready]")
    replay = requests.get(f"{stack.url}/api/v1/livestreams/{stream.pk}/replay/", timeout=5).json()
    offset = requests.get(f"{stack.url}/api/v1/livestreams/{stream.pk}/replay/chat/",
                          timeout=5).json()["results"][0]["offset"]
    assert replay["status"] == "ready" and 0 < offset < replay["duration"], (offset, replay)
    log = watch.locator("[data-replay-chat] [data-chat-log]")
    watch.click("[data-replay-start]")
    watch.wait_for_function("document.querySelector('[data-video]').currentTime > 0.2", timeout=20000)
    expect(log).not_to_contain_text("what a night")
    # Seeking jumps the chat: past the message it shows, back before it, it is gone again.
    watch.evaluate(f"document.querySelector('[data-video]').currentTime = {(offset + replay['duration']) / 2}")
    expect(log).to_contain_text("what a night", timeout=5000)
    watch.evaluate("document.querySelector('[data-video]').currentTime = 0.1")
    expect(log).not_to_contain_text("what a night", timeout=5000)
