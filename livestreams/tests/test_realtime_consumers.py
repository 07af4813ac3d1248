"""The watch socket through the real consumer, hub and services (in-memory channel layer, real Redis)."""

import asyncio
import time
from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.models import Follow
from accounts.tests.factories import UserFactory
from livestreams import realtime
from livestreams.models import ChatMessage, ChatSanction, ReactionTally, Stream, ViewerSession
from livestreams.services import chat, presence, reactions, streams
from livestreams.tests.factories import LiveStreamFactory, StreamFactory
from livestreams.tests.realtime_helpers import Socket, db

pytestmark = [pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def realtime_settings(settings, redis_server):
    settings.REDIS_URL = redis_server
    settings.REALTIME_FRAME_MS = 20
    settings.REALTIME_REACTION_WINDOW_MS = 50
    from livestreams.services.redis import redis_sync

    for key in redis_sync().scan_iter(match="rl:*"):  # rate-limit windows must not leak between tests
        redis_sync().delete(key)


@pytest.fixture
def live(artist):
    return LiveStreamFactory(artist=artist)


async def _open(stream, user=None, query=""):
    sock = Socket(stream, user, query)
    connected, _ = await sock.connect()
    assert connected
    return sock


# --- Connecting ---------------------------------------------------------------------------------


async def test_anonymous_fan_connects_and_gets_hello(live):
    sock = await _open(live)
    try:
        hello = sock.hello
        assert hello["can_chat"] is False and hello["can_moderate"] is False
        assert hello["last_seq"] == 0 and hello["pinned"] is None
        assert hello["viewer_count"] == 1
        assert "🔥" in hello["reactions"] and hello["chat_mode"] == "open" and hello["slow_mode_seconds"] == 0
    finally:
        await sock.close()


async def test_unknown_stream_is_refused_before_accept(db):
    ghost = Stream(pk="00000000-0000-0000-0000-000000000001")
    sock = Socket(ghost)
    connected, code = await sock.connect()
    assert connected is False and code == 4404


async def test_owner_hello_says_can_moderate(live, artist, fan):
    owner, viewer = await _open(live, artist), await _open(live, fan)
    try:
        assert owner.hello["can_moderate"] is True and owner.hello["can_chat"] is True
        assert viewer.hello["can_moderate"] is False and viewer.hello["can_chat"] is True
    finally:
        await owner.close()
        await viewer.close()


# --- Every server event -------------------------------------------------------------------------


async def test_lifecycle_events_reach_the_socket(artist):
    stream = await db(StreamFactory)(artist=artist)
    sock = await _open(stream)
    try:
        await db(streams.stream_prepare)(stream=stream)
        assert (await sock.next("stream:status"))["status"] == "preparing"
        await db(streams.stream_go_live)(stream=stream)
        start = await sock.next("stream:start")
        assert start["status"] == "live" and start["hls_url"].endswith(".m3u8") and start["started_at"]
        await db(streams.stream_mark_interrupted)(stream=stream)
        assert (await sock.next("stream:interrupted"))["stream_id"] == str(stream.pk)
        await db(streams.stream_mark_resumed)(stream=stream)
        assert (await sock.next("stream:resumed"))["hls_url"].endswith(".m3u8")
        await db(streams.stream_update)(stream=stream, data={"chat_mode": "followers"})
        settings_event = await sock.next("stream:settings")
        assert settings_event["chat_mode"] == "followers" and settings_event["slow_mode_seconds"] == 0
        await db(streams.stream_end)(stream=stream, reason="artist")
        end = await sock.next("stream:end")
        assert end["reason"] == "artist" and end["ended_at"]
    finally:
        await sock.close()


async def test_chat_message_reaches_every_socket_with_seq(live, fan):
    sender, watcher = await _open(live, fan), await _open(live)
    try:
        await sender.send({"type": "chat.send", "text": "  hello <b>there</b>  "})
        for sock in (sender, watcher):
            event = await sock.next("stream:chat-message")
            assert event["seq"] == 1
            assert event["message"]["text"] == "hello <b>there</b>"  # plain text, stored as typed
            assert event["message"]["user"] == {"username": "fan", "display_name": "fan"}
            assert event["message"]["pinned"] is False
        assert await db(ChatMessage.objects.filter(stream=live, text="hello <b>there</b>").count)() == 1
    finally:
        await sender.close()
        await watcher.close()


async def test_moderation_events_delete_pin_unpin_clear_settings(live, artist, fan):
    watcher = await _open(live)
    try:
        m1 = await db(chat.chat_message_post)(stream=live, user=fan, text="one")
        m2 = await db(chat.chat_message_post)(stream=live, user=fan, text="two")
        await db(chat.chat_message_pin)(stream=live, message_id=m1.pk, actor=artist)
        pinned = await watcher.next("stream:chat-pinned")
        assert pinned["message"]["id"] == m1.pk and pinned["message"]["pinned"] is True and pinned["seq"] == 3
        await db(chat.chat_message_unpin)(stream=live, actor=artist)
        assert (await watcher.next("stream:chat-pinned"))["message"] is None
        await db(chat.chat_message_delete)(stream=live, message_id=m2.pk, actor=artist)
        deleted = await watcher.next("stream:chat-deleted")
        assert deleted == {"type": "stream:chat-deleted", "seq": 5, "message_id": m2.pk, "stream_id": str(live.pk)}
        await db(chat.chat_clear)(stream=live, actor=artist)
        assert (await watcher.next("stream:chat-cleared"))["seq"] == 6
        assert await db(ChatMessage.objects.filter(stream=live, deleted_at=None).count)() == 0
        await db(chat.chat_set_slow_mode)(stream=live, seconds=30, actor=artist)
        assert (await watcher.next("stream:settings"))["slow_mode_seconds"] == 30
        await db(chat.chat_set_mode)(stream=live, chat_mode="off", actor=artist)
        assert (await watcher.next("stream:settings"))["chat_mode"] == "off"
    finally:
        await watcher.close()


async def test_reactions_arrive_as_one_burst_and_are_tallied(live, fan, redis_server):
    sender, watcher = await _open(live, fan), await _open(live)
    try:
        for emoji in ["🔥", "🔥", "❤️"]:
            await sender.send({"type": "reaction.send", "emoji": emoji})
        counts: dict = {}
        while sum(counts.values()) < 3:
            burst = await watcher.next("stream:reaction")
            assert burst["window_ms"] == 50
            for emoji, n in burst["counts"].items():
                counts[emoji] = counts.get(emoji, 0) + n
        assert counts == {"🔥": 2, "❤️": 1}
        moved = await db(reactions.reaction_tallies_persist)(now=timezone.now() + timedelta(minutes=2))
        assert moved >= 2
        tallies = await db(lambda: dict(ReactionTally.objects.filter(stream=live).values_list("emoji", "count")))()
        assert tallies == {"🔥": 2, "❤️": 1}
    finally:
        await sender.close()
        await watcher.close()


async def _until_count(sock, count):
    """Counts are published each second when changed: wait for the one we expect."""
    while (await sock.next("stream:viewer-count"))["count"] != count:
        pass


async def test_viewer_count_counts_distinct_viewers(live, fan):
    first = await _open(live, fan)
    second_tab = await _open(live, fan)
    anon = await _open(live, query="?vid=browser-abc-123")
    try:
        assert anon.hello["viewer_count"] == 2  # fan's two tabs count once
        await _until_count(first, 2)
        # Sessions (and so total_views) are written in the once-a-second batch, which may be the
        # next one after the count went out.
        for _ in range(50):
            stream = await db(Stream.objects.get)(pk=live.pk)
            if stream.total_views == 2:
                break
            await asyncio.sleep(0.1)
        assert stream.viewer_count == 2 and stream.peak_viewers == 2 and stream.total_views == 2
    finally:
        await anon.close()
        await second_tab.close()
    await _until_count(first, 1)
    await first.close()
    sessions = await db(lambda: list(ViewerSession.objects.filter(stream=live)))()
    assert len(sessions) == 3 and all(s.left_at is not None for s in sessions)


async def test_quality_update_reaches_owner_and_staff_only(live, artist, fan, staff):
    owner, admin, viewer = await _open(live, artist), await _open(live, staff), await _open(live, fan)
    try:
        await db(realtime.publish)(live.pk, {"type": "stream:quality-update", "health": "bad", "reason": "fps",
                                            "sample": {}}, audience=realtime.STAFF)
        await db(streams.stream_update)(stream=live, data={"reactions_enabled": False})  # a public marker
        assert (await owner.next("stream:quality-update"))["health"] == "bad"
        assert (await admin.next("stream:quality-update"))["reason"] == "fps"
        await viewer.next("stream:settings")
        assert not [e for e in viewer.seen if e["type"] == "stream:quality-update"]
    finally:
        for sock in (owner, admin, viewer):
            await sock.close()


async def test_ping_pong(live):
    sock = await _open(live)
    try:
        await sock.send({"type": "ping"})
        assert (await sock.next("pong"))["type"] == "pong"
    finally:
        await sock.close()


# --- Every refusal ------------------------------------------------------------------------------


async def _refused(sock, frame, code):
    await sock.send(frame)
    error = await sock.next("error")
    assert error["code"] == code, error
    return error


async def test_anonymous_cannot_chat_or_react(live):
    sock = await _open(live)
    try:
        await _refused(sock, {"type": "chat.send", "text": "hi"}, "auth_required")
        await _refused(sock, {"type": "reaction.send", "emoji": "🔥"}, "auth_required")
        assert await db(ChatMessage.objects.count)() == 0
    finally:
        await sock.close()


async def test_banned_and_timed_out_users_are_refused(live, artist):
    banned, timed = await db(UserFactory)(username="banned"), await db(UserFactory)(username="timed")
    await db(chat.chat_user_ban)(stream=live, username="banned", actor=artist)
    await db(chat.chat_user_timeout)(stream=live, username="timed", minutes=5, actor=artist)
    s1, s2 = await _open(live, banned), await _open(live, timed)
    try:
        assert s1.hello["can_chat"] is False
        error = await _refused(s1, {"type": "chat.send", "text": "hi"}, "banned")
        assert "banned" in error["message"]
        error = await _refused(s2, {"type": "chat.send", "text": "hi"}, "timed_out")
        assert error["until"]
        assert await db(ChatMessage.objects.count)() == 0
    finally:
        await s1.close()
        await s2.close()


async def test_ban_covers_every_stream_of_the_artist_and_unban_lifts_it(live, artist, fan):
    other = await db(LiveStreamFactory)(artist=artist)
    await db(chat.chat_user_ban)(stream=live, username="fan", actor=artist)
    with pytest.raises(chat.ChatRefused) as refused:
        await db(chat.chat_message_post)(stream=other, user=fan, text="hi")
    assert refused.value.code == "banned"
    await db(chat.chat_user_unban)(stream=other, username="fan", actor=artist)
    assert (await db(chat.chat_message_post)(stream=other, user=fan, text="hi")).seq == 1
    assert await db(ChatSanction.objects.count)() == 0


async def test_slow_mode_refuses_a_second_message(live, artist, fan):
    await db(chat.chat_set_slow_mode)(stream=live, seconds=60, actor=artist)
    sock = await _open(live, fan)
    try:
        await sock.send({"type": "chat.send", "text": "first"})
        await sock.next("stream:chat-message")
        error = await _refused(sock, {"type": "chat.send", "text": "second"}, "slow_mode")
        assert 1 <= error["retry_after"] <= 60
        assert await db(ChatMessage.objects.filter(stream=live).count)() == 1
    finally:
        await sock.close()


async def test_followers_only_refuses_non_followers(live, artist, fan):
    await db(chat.chat_set_mode)(stream=live, chat_mode="followers", actor=artist)
    follower = await db(UserFactory)(username="follower")
    await db(Follow.objects.create)(follower=follower, channel=artist.channel)
    s1, s2 = await _open(live, fan), await _open(live, follower)
    try:
        await _refused(s1, {"type": "chat.send", "text": "hi"}, "followers_only")
        await s2.send({"type": "chat.send", "text": "hi from a follower"})
        assert (await s2.next("stream:chat-message"))["message"]["text"] == "hi from a follower"
    finally:
        await s1.close()
        await s2.close()


async def test_chat_off_and_chat_disabled_are_refused(live, artist, fan):
    await db(chat.chat_set_mode)(stream=live, chat_mode="off", actor=artist)
    sock = await _open(live, fan)
    try:
        await _refused(sock, {"type": "chat.send", "text": "hi"}, "chat_off")
        await db(streams.stream_update)(stream=live, data={"chat_enabled": False})
        await _refused(sock, {"type": "chat.send", "text": "hi"}, "chat_disabled")
        assert await db(ChatMessage.objects.count)() == 0
    finally:
        await sock.close()


async def test_malformed_oversized_and_invalid_frames_change_nothing(live, fan):
    sock = await _open(live, fan)
    try:
        await _refused(sock, "{not json", "malformed")
        await _refused(sock, "[1, 2]", "malformed")
        await _refused(sock, {"type": "chat.sync", "after_seq": "x"}, "malformed")
        await _refused(sock, {"type": "nope"}, "unknown_type")
        await _refused(sock, {"type": "chat.send", "text": "x" * 5000}, "too_large")
        await _refused(sock, {"type": "chat.send", "text": "x" * 501}, "invalid")
        await _refused(sock, {"type": "chat.send", "text": "   "}, "invalid")
        await _refused(sock, {"type": "chat.send", "text": 42}, "invalid")
        await _refused(sock, {"type": "reaction.send", "emoji": "💩"}, "invalid")
        await sock.comm.send_to(bytes_data=b"\x00\x01")
        assert (await sock.next("error"))["code"] == "malformed"
        assert await db(ChatMessage.objects.count)() == 0
    finally:
        await sock.close()


async def test_blocked_words_are_refused(live, artist, fan):
    await db(chat.chat_blocked_word_add)(stream=live, word="Spoiler", actor=artist)
    sock = await _open(live, fan)
    try:
        await _refused(sock, {"type": "chat.send", "text": "big SPOILER ahead"}, "invalid")
        assert await db(ChatMessage.objects.count)() == 0
    finally:
        await sock.close()


async def test_per_user_chat_rate_limit(live, fan, settings):
    settings.REALTIME_CHAT_PER_10S = 2
    sock = await _open(live, fan)
    try:
        for text in ("a", "b"):
            await sock.send({"type": "chat.send", "text": text})
            await sock.next("stream:chat-message")
        error = await _refused(sock, {"type": "chat.send", "text": "c"}, "rate_limited")
        assert error["retry_after"] >= 1
        assert await db(ChatMessage.objects.count)() == 2
    finally:
        await sock.close()


async def test_flood_gets_an_error_frame_then_a_disconnect(live, fan, settings):
    settings.REALTIME_FRAMES_PER_S = 3
    settings.REALTIME_FLOOD_FACTOR = 2
    sock = await _open(live, fan)
    try:
        for _ in range(20):
            await sock.send({"type": "ping"})
        assert (await sock.next("error"))["code"] == "rate_limited"
        closed = await sock.next("__closed__")
        assert closed["code"] == 4429
    finally:
        await sock.close()


# --- Reconnect and presence ---------------------------------------------------------------------


async def test_reconnect_gets_missed_events_without_gaps_or_duplicates(live, artist, fan):
    sock = await _open(live, fan)
    await sock.send({"type": "chat.send", "text": "before"})
    last_seq = (await sock.next("stream:chat-message"))["seq"]
    await sock.close()
    # Missed while away: two messages, one deletion.
    m2 = await db(chat.chat_message_post)(stream=live, user=artist, text="missed 1")
    await db(chat.chat_message_post)(stream=live, user=artist, text="missed 2")
    await db(chat.chat_message_delete)(stream=live, message_id=m2.pk, actor=artist)
    sock = await _open(live, fan)
    try:
        assert sock.hello["last_seq"] == 4
        await sock.send({"type": "chat.sync", "after_seq": last_seq})
        sync = await sock.next("chat:sync")
        assert [e["seq"] for e in sync["events"]] == [2, 3, 4]
        assert [e["type"] for e in sync["events"]] == ["stream:chat-message", "stream:chat-message",
                                                       "stream:chat-deleted"]
        assert sync["events"][0]["message"]["text"] == ""  # deleted since: not replayed
        assert sync["events"][1]["message"]["text"] == "missed 2"
        assert sync["last_seq"] == 4 and sync["more"] is False
        # And live events continue from there.
        await sock.send({"type": "chat.send", "text": "back"})
        assert (await sock.next("stream:chat-message"))["seq"] == 5
    finally:
        await sock.close()


async def test_presence_expires_when_a_socket_dies_without_closing(live, fan, settings):
    sock = await _open(live, fan)
    try:
        assert await presence.presence_count(stream_id=live.pk) == 1
        # A crashed server sends no more heartbeats: past the TTL the viewer no longer counts.
        later = time.time() + settings.REALTIME_PRESENCE_TTL + 1
        assert await presence.presence_count(stream_id=live.pk, now=later) == 0
        # Make "later" now for Redis (age the entry as a missing heartbeat would), then the ticker
        # publishes 0 and stores it.
        from livestreams.services.redis import redis_async

        await redis_async().zadd(f"pv:{live.pk}", {f"u{fan.pk}": time.time() - 1})
        await redis_async().delete(f"pt:{live.pk}")
        assert await presence.viewer_count_publish(stream_id=live.pk) == 0
        assert (await db(Stream.objects.get)(pk=live.pk)).viewer_count == 0
        await presence.viewer_sessions_flush()
        closed = await db(presence.viewer_sessions_reap)(now=timezone.now() + timedelta(minutes=5))
        assert closed == 1
        assert await db(ViewerSession.objects.filter(stream=live, left_at=None).count)() == 0
    finally:
        await sock.close()
