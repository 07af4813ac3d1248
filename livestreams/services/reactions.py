"""Reactions: taps are counted in Redis and leave as one burst per stream per window, never one
event per tap, so their cost does not grow with viewers x taps. Per-minute totals go to
ReactionTally for analytics.

Redis keys: rx:<id>:p  hash emoji -> taps since the last burst;  rx:<id>:m:<YYYYmmddHHMM>  hash of a minute.
"""

from datetime import datetime, timezone as dt_timezone

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from accounts.models import User
from livestreams import realtime
from livestreams.models import ReactionTally, Stream
from livestreams.services.chat import ChatRefused, Rate, rate_limit_hit, rate_limit_hit_async
from livestreams.services.redis import redis_async, redis_sync

REACTION_STATUSES = (Stream.Status.LIVE,)


def reaction_emoji() -> list[str]:
    return list(settings.REALTIME_REACTION_EMOJI)


def _check(*, user, emoji, reactions_enabled: bool, status: str) -> None:
    if not user or not user.is_authenticated:
        raise ChatRefused("auth_required", "Sign in to react.", status_code=401)
    if not isinstance(emoji, str) or emoji not in settings.REALTIME_REACTION_EMOJI:
        raise ChatRefused("invalid", f"Reactions are one of {' '.join(reaction_emoji())}.", status_code=400)
    if not reactions_enabled:
        raise ChatRefused("reactions_disabled", "Reactions are disabled for this stream.")
    if status not in REACTION_STATUSES:
        raise ChatRefused("not_live", "Reactions are open while the stream is live.", status_code=409)


def _count(pipe, stream_id, emoji: str) -> None:
    minute = timezone.now().strftime("%Y%m%d%H%M")
    pipe.hincrby(f"rx:{stream_id}:p", emoji, 1)
    pipe.expire(f"rx:{stream_id}:p", 60)
    pipe.hincrby(f"rx:{stream_id}:m:{minute}", emoji, 1)
    pipe.expire(f"rx:{stream_id}:m:{minute}", 24 * 3600)


def _rate() -> Rate:
    return Rate(settings.REALTIME_REACTIONS_PER_S, 1)


def reaction_add(*, stream: Stream, user: User, emoji) -> None:
    """Count one tap. Called by POST .../reactions/."""
    _check(user=user, emoji=emoji, reactions_enabled=stream.reactions_enabled, status=stream.status)
    wait = rate_limit_hit(key=f"react:{user.pk}", rate=_rate())
    if wait:
        raise ChatRefused("rate_limited", "Too many reactions.", status_code=429, retry_after=wait)
    pipe = redis_sync().pipeline(transaction=False)
    _count(pipe, stream.pk, emoji)
    pipe.execute()


async def reaction_add_async(*, stream_id, user: User, emoji, state: dict) -> None:
    """Count one tap from a socket: the hot path (200 taps/s in the benchmark), so no database and
    no thread hop. `state` is the hub's view of the stream (reactions_enabled, status), kept
    current by the stream's own events."""
    _check(user=user, emoji=emoji, reactions_enabled=state.get("reactions_enabled", False),
           status=state.get("status", ""))
    wait = await rate_limit_hit_async(key=f"react:{user.pk}", rate=_rate())
    if wait:
        raise ChatRefused("rate_limited", "Too many reactions.", status_code=429, retry_after=wait)
    pipe = redis_async().pipeline(transaction=False)
    _count(pipe, stream_id, emoji)
    await pipe.execute()


@realtime.every(lambda: settings.REALTIME_REACTION_WINDOW_MS / 1000)
async def reaction_burst(hub) -> None:
    await reaction_burst_publish(stream_id=hub.stream_id)


async def reaction_burst_publish(*, stream_id) -> dict | None:
    """Take the taps counted since the last burst (atomically) and publish them as one event."""
    key = f"rx:{stream_id}:p"
    pipe = redis_async().pipeline(transaction=True)
    pipe.hgetall(key)
    pipe.delete(key)
    counts = (await pipe.execute())[0]
    if not counts:
        return None
    counts = {emoji: int(n) for emoji, n in counts.items()}
    await realtime.apublish(
        stream_id, {"type": "stream:reaction", "counts": counts, "window_ms": settings.REALTIME_REACTION_WINDOW_MS}
    )
    return counts


def reaction_tallies_persist(*, now=None) -> int:
    """Move finished minutes from Redis into ReactionTally. Called each minute by Celery beat."""
    now = now or timezone.now()
    current = now.strftime("%Y%m%d%H%M")
    r, moved = redis_sync(), 0
    for key in r.scan_iter(match="rx:*:m:*", count=500):
        _, stream_id, _, minute = key.split(":")
        if minute >= current:
            continue
        counts = r.hgetall(key)
        at = datetime.strptime(minute, "%Y%m%d%H%M").replace(tzinfo=dt_timezone.utc)
        if Stream.objects.filter(pk=stream_id).exists():
            for emoji, n in counts.items():
                _tally_add(stream_id=stream_id, minute=at, emoji=emoji, count=int(n))
                moved += 1
        r.delete(key)
    return moved


def _tally_add(*, stream_id, minute, emoji: str, count: int) -> None:
    updated = ReactionTally.objects.filter(stream_id=stream_id, minute=minute, emoji=emoji).update(
        count=F("count") + count
    )
    if not updated:
        try:
            with transaction.atomic():
                ReactionTally.objects.create(stream_id=stream_id, minute=minute, emoji=emoji, count=count)
        except IntegrityError:  # another worker created it first
            ReactionTally.objects.filter(stream_id=stream_id, minute=minute, emoji=emoji).update(
                count=F("count") + count
            )
