"""Rate limits kept in Redis (moving window, via the `limits` library)."""

from __future__ import annotations

import logging
import math
import time

from limits import parse
from limits.storage import RedisStorage
from limits.strategies import MovingWindowRateLimiter
from redis.exceptions import RedisError

from domain.base import DomainError

log = logging.getLogger(__name__)


class RateLimited(DomainError):
    def __init__(self, detail: str, retry_after: int) -> None:
        super().__init__(detail)
        self.retry_after = retry_after


class RateLimiter:
    def __init__(self, redis_url: str, prefix: str, limit: str) -> None:
        if redis_url.startswith("unix://"):
            redis_url = "redis+unix://" + redis_url.removeprefix("unix://")
        self._storage = RedisStorage(redis_url, key_prefix=f"{prefix}limits")
        self._limiter = MovingWindowRateLimiter(self._storage)
        self._limit = parse(limit)

    def hit(self, *key: str) -> None:
        """Count one attempt; raise RateLimited once over the limit.

        When Redis is unreachable the limit is not enforced (logged): logging in
        matters more than counting attempts.
        """
        try:
            if self._limiter.hit(self._limit, *key):
                return
            reset, _ = self._limiter.get_window_stats(self._limit, *key)
        except RedisError as e:
            log.warning("rate limiter unavailable, not enforcing: %s", e)
            return
        retry_after = max(1, math.ceil(reset - time.time()))
        raise RateLimited(f"too many attempts; try again in {retry_after} s", retry_after)
