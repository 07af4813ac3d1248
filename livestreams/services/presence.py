"""Who is watching: distinct viewers per stream in Redis with expiry, viewer sessions in the database.

Redis keys per stream (all expire a day after the last write):
  pv:<id>  sorted set  viewer key -> time after which it no longer counts (refreshed by heartbeats)
  pc:<id>  hash        viewer key -> open sockets (a viewer with two tabs counts once)
  ps:<id>  set         every viewer key ever seen: total_views counts first joins
  pl:<id>  string      last published count;  pt:<id>  the once-a-second publishing lock

A crashed Daphne process stops refreshing its viewers, so they drop out of the count after
REALTIME_PRESENCE_TTL seconds: no phantom viewers. Every process with sockets on a stream runs the
count job each second; the Redis lock lets one of them publish, and only when the count changed.
"""

import time

from channels.db import database_sync_to_async
from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.db.models.functions import Greatest
from django.utils import timezone

from livestreams import realtime
from livestreams.models import Stream, ViewerSession
from livestreams.services.redis import redis_async

DAY = 24 * 3600


def _keys(stream_id) -> tuple[str, str, str, str, str]:
    s = str(stream_id)
    return f"pv:{s}", f"pc:{s}", f"ps:{s}", f"pl:{s}", f"pt:{s}"


async def presence_join(*, stream_id, viewer_key: str) -> bool:
    """Count a socket of `viewer_key`. Returns True the first time this viewer ever joins."""
    pv, pc, ps, _, _ = _keys(stream_id)
    pipe = redis_async().pipeline(transaction=True)
    pipe.hincrby(pc, viewer_key, 1)
    pipe.zadd(pv, {viewer_key: time.time() + settings.REALTIME_PRESENCE_TTL})
    pipe.sadd(ps, viewer_key)
    for key in (pv, pc, ps):
        pipe.expire(key, DAY)
    result = await pipe.execute()
    return bool(result[2])


async def presence_leave(*, stream_id, viewer_key: str) -> None:
    pv, pc, _, _, _ = _keys(stream_id)
    r = redis_async()
    if await r.hincrby(pc, viewer_key, -1) <= 0:
        pipe = r.pipeline(transaction=True)
        pipe.hdel(pc, viewer_key)
        pipe.zrem(pv, viewer_key)
        await pipe.execute()


async def presence_count(*, stream_id, now: float | None = None) -> int:
    """Distinct viewers whose presence has not expired at `now`."""
    pv = _keys(stream_id)[0]
    return await redis_async().zcount(pv, now if now is not None else time.time(), "+inf")


@realtime.every(lambda: settings.REALTIME_PRESENCE_HEARTBEAT)
async def presence_heartbeat(hub) -> None:
    """Refresh every viewer with a socket in this process, in one command."""
    if hub.viewer_keys:
        expiry = time.time() + settings.REALTIME_PRESENCE_TTL
        await redis_async().zadd(_keys(hub.stream_id)[0], dict.fromkeys(hub.viewer_keys, expiry))


@realtime.every(lambda: 1.0)
async def viewer_count_tick(hub) -> None:
    await viewer_sessions_flush()  # before the count: total_views is current when it goes out
    await viewer_count_publish(stream_id=hub.stream_id)


async def viewer_count_publish(*, stream_id) -> int | None:
    """Publish the count if it changed, at most once a second across every process."""
    pv, pc, _, pl, pt = _keys(stream_id)
    r = redis_async()
    if not await r.set(pt, "1", nx=True, px=900):
        return None
    now = time.time()
    expired = await r.zrangebyscore(pv, "-inf", now)
    pipe = r.pipeline(transaction=True)
    if expired:
        pipe.zrem(pv, *expired)
        pipe.hdel(pc, *expired)
    pipe.zcard(pv)
    count = (await pipe.execute())[-1]
    last = await r.set(pl, count, get=True, ex=DAY)
    if last is not None and int(last) == count:
        return None
    await database_sync_to_async(stream_viewers_record)(stream_id=stream_id, count=count)
    await realtime.apublish(stream_id, {"type": "stream:viewer-count", "count": count})
    return count


def stream_viewers_record(*, stream_id, count: int) -> None:
    """Store the current count and raise the peak. Called by the publishing process only."""
    Stream.objects.filter(pk=stream_id).update(viewer_count=count, peak_viewers=Greatest(F("peak_viewers"), count))


# Viewer sessions are written in batches, once a second per process, not one insert per socket:
# thousands of viewers joining at once (a stream going live) must not queue thousands of writes
# behind the chat's. Keyed by connection id; a socket that joins and leaves within one batch is
# written once, closed.
_opened: dict[str, dict] = {}
_closed: dict[str, object] = {}


def viewer_session_opened(*, connection_id: str, stream_id, user_id: int | None, viewer_key: str,
                          first_visit: bool) -> None:
    _opened[connection_id] = {"stream_id": stream_id, "user_id": user_id, "viewer_key": viewer_key,
                              "joined_at": timezone.now(), "first_visit": first_visit}


def viewer_session_closed(*, connection_id: str) -> None:
    _closed[connection_id] = timezone.now()


async def viewer_sessions_flush() -> None:
    """Write this process's batch of joins and leaves."""
    if not _opened and not _closed:
        return
    opened, closed = dict(_opened), dict(_closed)
    _opened.clear()
    _closed.clear()
    await database_sync_to_async(viewer_sessions_write)(opened=opened, closed=closed)


@transaction.atomic
def viewer_sessions_write(*, opened: dict, closed: dict) -> None:
    """Insert new sessions (closed ones with their leave time and watch time), close older ones
    and add first visits to total_views. Called by viewer_sessions_flush()."""
    new_views: dict = {}
    rows = []
    for connection_id, row in opened.items():
        left_at = closed.pop(connection_id, None)
        rows.append(ViewerSession(
            stream_id=row["stream_id"], user_id=row["user_id"], viewer_key=row["viewer_key"],
            connection_id=connection_id, joined_at=row["joined_at"], left_at=left_at,
            watch_seconds=max(0, int((left_at - row["joined_at"]).total_seconds())) if left_at else 0,
        ))
        if row["first_visit"]:
            new_views[row["stream_id"]] = new_views.get(row["stream_id"], 0) + 1
    ViewerSession.objects.bulk_create(rows, batch_size=500)
    for stream_id, n in new_views.items():
        Stream.objects.filter(pk=stream_id).update(total_views=F("total_views") + n)
    if closed:
        sessions = list(ViewerSession.objects.filter(connection_id__in=list(closed), left_at=None))
        for session in sessions:
            session.left_at = closed[session.connection_id]
            session.watch_seconds = max(0, int((session.left_at - session.joined_at).total_seconds()))
        ViewerSession.objects.bulk_update(sessions, ["left_at", "watch_seconds"], batch_size=500)


def viewer_session_close(*, session_id: int, at=None) -> None:
    at = at or timezone.now()
    session = ViewerSession.objects.filter(pk=session_id, left_at=None).first()
    if session is None:
        return
    session.left_at = at
    session.watch_seconds = max(0, int((at - session.joined_at).total_seconds()))
    session.save(update_fields=["left_at", "watch_seconds"])


def viewer_sessions_reap(*, now=None) -> int:
    """Close sessions a crashed server left open: their viewer no longer counts in Redis.
    Called each minute by Celery beat. Returns how many were closed."""
    from livestreams.services.redis import redis_sync

    now = now or timezone.now()
    r, closed = redis_sync(), 0
    cutoff = now - timezone.timedelta(seconds=settings.REALTIME_PRESENCE_TTL)
    open_sessions = ViewerSession.objects.filter(left_at=None, joined_at__lt=cutoff)
    for stream_id in open_sessions.values_list("stream_id", flat=True).distinct():
        alive = {k for k, score in r.zrange(f"pv:{stream_id}", 0, -1, withscores=True) if score > now.timestamp()}
        for session in open_sessions.filter(stream_id=stream_id).exclude(viewer_key__in=alive):
            viewer_session_close(session_id=session.pk, at=cutoff if cutoff > session.joined_at else now)
            closed += 1
    # A stream whose last process died (or whose last leave lost the publishing lock) keeps a
    # stale count in the database: bring it back to what Redis says.
    for stream_id in Stream.objects.filter(viewer_count__gt=0).values_list("pk", flat=True):
        live = r.zcount(f"pv:{stream_id}", now.timestamp(), "+inf")
        Stream.objects.filter(pk=stream_id).update(viewer_count=live)
    return closed




def presence_count_sync(*, stream_id) -> int:
    """presence_count() for sync callers (the REST viewer count)."""
    from livestreams.services.redis import redis_sync

    return redis_sync().zcount(_keys(stream_id)[0], time.time(), "+inf")
