"""Redis clients for presence, reactions and rate state (the cache and channel layer keep their own)."""

import asyncio
import weakref

import redis
import redis.asyncio as aioredis
from django.conf import settings

_sync: dict[str, redis.Redis] = {}
_async: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, aioredis.Redis]]" = weakref.WeakKeyDictionary()


def redis_sync() -> redis.Redis:
    url = settings.REDIS_URL
    if url not in _sync:
        _sync[url] = redis.Redis.from_url(url, decode_responses=True)
    return _sync[url]


def redis_async() -> aioredis.Redis:
    """One client per event loop (tests run a loop per test; a pool cannot cross loops)."""
    per_loop = _async.setdefault(asyncio.get_running_loop(), {})
    url = settings.REDIS_URL
    if url not in per_loop:
        per_loop[url] = aioredis.Redis.from_url(url, decode_responses=True)
    return per_loop[url]
