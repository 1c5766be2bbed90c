"""The session guard's cache in Redis: JSON entries under `<prefix>auth:`, and a
channel announcing ended sessions to every API process (for open sockets)."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Sequence
from typing import Any

import redis
import redis.asyncio as aioredis
from redis.exceptions import RedisError

log = logging.getLogger(__name__)


class RedisAuthCache:
    def __init__(self, client: redis.Redis, prefix: str) -> None:
        self._redis = client
        self._prefix = f"{prefix}auth:"
        self.channel = f"{prefix}auth.changed"
        self._warned = 0.0

    def get_many(self, keys: Sequence[str]) -> list[dict[str, Any] | None]:
        try:
            raw: list[Any] = self._redis.mget([self._prefix + k for k in keys])
        except RedisError as e:
            self._warn("read", e)
            return [None] * len(keys)
        return [json.loads(value) if value is not None else None for value in raw]

    def put(self, key: str, value: dict[str, Any], *, ttl: int, only_if_absent: bool = False,
            strict: bool = False) -> None:
        try:
            self._redis.set(self._prefix + key, json.dumps(value), ex=ttl, nx=only_if_absent)
        except RedisError as e:
            if strict:
                raise
            self._warn("write", e)

    def announce(self, ended: dict[str, str]) -> None:
        try:
            self._redis.publish(self.channel, json.dumps(ended))
        except RedisError as e:
            self._warn("announce", e)

    def _warn(self, what: str, error: Exception) -> None:
        # The guard falls back to the event store; say so, but not on every request.
        if time.monotonic() - self._warned > 10:
            self._warned = time.monotonic()
            log.warning("session cache unavailable (%s): %s; checking the event store", what,
                        error)


class AsyncAuthCacheReader:
    """The reads of `RedisAuthCache` from an event loop (no thread hop per request)."""

    def __init__(self, client: aioredis.Redis, prefix: str) -> None:
        self._redis, self._prefix = client, f"{prefix}auth:"

    async def get_many(self, keys: Sequence[str]) -> list[dict[str, Any] | None]:
        """The entries; all None when Redis does not answer (the caller then reads
        the event store, in a thread)."""
        try:
            raw: list[Any] = await self._redis.mget([self._prefix + k for k in keys])
        except RedisError:
            return [None] * len(keys)
        return [json.loads(value) if value is not None else None for value in raw]
