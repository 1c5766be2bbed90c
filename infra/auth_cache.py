"""The session guard's cache in Redis: JSON entries under `<prefix>auth:`, and a
channel announcing ended sessions to every API process (for open sockets)."""

from __future__ import annotations

import asyncio
import json
import logging
import time
import weakref
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
        return _entries(raw)

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

    def forget(self, keys: Sequence[str]) -> None:
        try:
            self._redis.delete(*[self._prefix + k for k in keys])
        except RedisError as e:
            self._warn("forget", e)

    def _warn(self, what: str, error: Exception) -> None:
        # The guard falls back to the event store; say so, but not on every request.
        if time.monotonic() - self._warned > 10:
            self._warned = time.monotonic()
            log.warning("session cache unavailable (%s): %s; checking the event store", what,
                        error)


class AsyncAuthCacheReader:
    """The reads of `RedisAuthCache` from an event loop (no thread hop per request).

    An asyncio Redis client belongs to the loop it first connected on; an app served
    from more than one loop (a test client per request, say) gets one client per loop.
    """

    def __init__(self, url: str, prefix: str, *, timeout: float = 0.5) -> None:
        self._url, self._prefix, self._timeout = url, f"{prefix}auth:", timeout
        self._clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, aioredis.Redis] = (
            weakref.WeakKeyDictionary())

    def _client(self) -> aioredis.Redis:
        loop = asyncio.get_running_loop()
        client = self._clients.get(loop)
        if client is None:
            client = aioredis.from_url(self._url, socket_timeout=self._timeout,
                                       socket_connect_timeout=self._timeout)
            self._clients[loop] = client
        return client

    async def get_many(self, keys: Sequence[str]) -> list[dict[str, Any] | None]:
        """The entries; all None when Redis does not answer (the caller then reads
        the event store, in a thread)."""
        try:
            raw: list[Any] = await self._client().mget([self._prefix + k for k in keys])
        except RedisError:
            return [None] * len(keys)
        return _entries(raw)

    async def get_many_with(self, keys: Sequence[str], hash_key: str | None,
                            field: str) -> tuple[list[dict[str, Any] | None], bytes | None]:
        """`get_many(keys)` and `field` of the hash `hash_key` (a zone's live state,
        say; None: only the entries) in one round trip; all None when Redis does not
        answer."""
        try:
            pipe = self._client().pipeline(transaction=False)
            pipe.mget([self._prefix + k for k in keys])
            if hash_key is not None:
                pipe.hget(hash_key, field)
            answers: list[Any] = await pipe.execute()
        except RedisError:
            return [None] * len(keys), None
        return _entries(answers[0]), answers[1] if hash_key is not None else None

    async def aclose(self) -> None:
        """Close this loop's client (the others went with their loops)."""
        client = self._clients.pop(asyncio.get_running_loop(), None)
        if client is not None:
            await client.aclose()


def _entries(raw: list[Any]) -> list[dict[str, Any] | None]:
    """MGET's answer as cache entries (None where a key is missing)."""
    return [json.loads(value) if value is not None else None for value in raw]
