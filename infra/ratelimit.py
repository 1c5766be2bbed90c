"""Named rate limits (the `limits` library, moving window), counted in Redis.

Each limit has a name ("login", "signup", "command", ...) and one or more
windows ("10/minute;50/hour", from settings). Callers count one attempt with
`hit(name, *key)`, the key being whatever the limit is counted per (a client
address, an email, a principal).

A limit never stops limiting: while Redis does not answer, attempts are counted
by an in-process limiter with the same limits (per process, so N replicas allow
up to N times as many), and Redis is asked again every `retry_seconds`.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Mapping

from limits import RateLimitItem, parse_many
from limits.errors import StorageError
from limits.storage import MemoryStorage, RedisStorage
from limits.strategies import MovingWindowRateLimiter
from redis import ConnectionPool
from redis.backoff import NoBackoff
from redis.exceptions import RedisError
from redis.retry import Retry

from application.ports import RateLimited

log = logging.getLogger(__name__)

# A dead Redis must not stall the requests it limits: fail fast, then count in memory.
REDIS_TIMEOUT_SECONDS = 0.5


def parse_limits(value: str) -> list[RateLimitItem]:
    """"10/minute;100/hour" as `limits` items; ValueError if it is not that notation."""
    items = parse_many(value)
    if not items:
        raise ValueError(f"no rate limit in {value!r}")
    return items


class RateLimiter:
    def __init__(self, redis_url: str, prefix: str, limits: Mapping[str, str], *,
                 retry_seconds: float = 2.0) -> None:
        pool = ConnectionPool.from_url(
            redis_url, socket_timeout=REDIS_TIMEOUT_SECONDS,
            socket_connect_timeout=REDIS_TIMEOUT_SECONDS, retry=Retry(NoBackoff(), 0))
        storage = RedisStorage("redis://", connection_pool=pool, key_prefix=f"{prefix}limits")
        self._redis = MovingWindowRateLimiter(storage)
        self._memory = MovingWindowRateLimiter(MemoryStorage())
        self._limits = {name: parse_limits(value) for name, value in limits.items()}
        self._retry_seconds = retry_seconds
        self._redis_down_until: float | None = None  # monotonic; None while Redis answers
        self._lock = threading.Lock()

    @property
    def names(self) -> list[str]:
        return sorted(self._limits)

    def hit(self, name: str, *key: str) -> None:
        """Count one attempt at `name` for `key`; raise RateLimited once over a window."""
        items = self._limits.get(name)
        if items is None:
            raise ValueError(f"no rate limit named {name!r} (known: {', '.join(self.names)})")
        identifiers = (name, *key)
        retry_after = None
        if self._use_redis():
            try:
                retry_after = _count(self._redis, items, identifiers)
                self._redis_answered()
            except (RedisError, StorageError) as e:
                self._redis_failed(e)
                retry_after = _count(self._memory, items, identifiers)
        else:
            retry_after = _count(self._memory, items, identifiers)
        if retry_after is not None:
            raise RateLimited(f"too many attempts; try again in {retry_after} s", retry_after)

    def _use_redis(self) -> bool:
        down_until = self._redis_down_until
        return down_until is None or time.monotonic() >= down_until

    def _redis_answered(self) -> None:
        if self._redis_down_until is None:
            return
        with self._lock:
            if self._redis_down_until is not None:
                self._redis_down_until = None
                log.warning("rate limits: Redis answers again; counting there")

    def _redis_failed(self, error: Exception) -> None:
        with self._lock:
            if self._redis_down_until is None:
                log.warning("rate limits: Redis unavailable (%s); counting in this process "
                            "and retrying Redis every %s s", error, self._retry_seconds)
            self._redis_down_until = time.monotonic() + self._retry_seconds


def _count(limiter: MovingWindowRateLimiter, items: list[RateLimitItem],
           identifiers: tuple[str, ...]) -> int | None:
    """Hit every window; the seconds until the first full one frees a slot, or None."""
    for item in items:
        if not limiter.hit(item, *identifiers):
            reset, _ = limiter.get_window_stats(item, *identifiers)
            return max(1, math.ceil(reset - time.time()))
    return None
