"""Device presence in Redis: heartbeats refresh a key with a TTL; only transitions are events.

Each device has two keys: a *live* key that expires `ttl_seconds` after the
last heartbeat (the device is online while it exists), and a *last seen* key
kept much longer, so "last seen at" survives the device going offline. Both
hold the ISO time of the last heartbeat and are written by one Lua script,
which also answers whether the live key existed before (False: the device has
just come online).

The use cases that read and write it (a heartbeat, the sweeper that turns
expired live keys into `WentOffline` events) are application/presence.py's.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

REMEMBER_SECONDS = 30 * 24 * 3600

_HEARTBEAT = """
local existed = redis.call('EXISTS', KEYS[1])
redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
redis.call('SET', KEYS[2], ARGV[1], 'EX', ARGV[3])
return existed
"""


class Presence:
    def __init__(self, redis_client: Any, prefix: str, ttl_seconds: int = 30, *,
                 remember_seconds: int = REMEMBER_SECONDS,
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self.redis = redis_client
        self.prefix = prefix
        self.ttl_seconds = ttl_seconds
        self.remember_seconds = remember_seconds
        self.clock = clock
        self._heartbeat = redis_client.register_script(_HEARTBEAT)

    # The hash tag keeps both keys of a device in one Redis Cluster slot.
    def _live(self, device_id: UUID) -> str:
        return f"{self.prefix}presence:{{{device_id}}}"

    def _seen(self, device_id: UUID) -> str:
        return f"{self.prefix}last-seen:{{{device_id}}}"

    def heartbeat(self, device_id: UUID, at: datetime | None = None) -> bool:
        """Refresh the device's presence; True if it was not online until now."""
        at = at or self.clock()
        existed = self._heartbeat(
            keys=[self._live(device_id), self._seen(device_id)],
            args=[at.isoformat(), self.ttl_seconds, self.remember_seconds],
        )
        return not int(existed)

    def forget(self, device_id: UUID) -> None:
        """Drop the live key, so that the next heartbeat counts as coming online again."""
        self.redis.delete(self._live(device_id))

    def is_online(self, device_id: UUID) -> bool:
        return bool(self.redis.exists(self._live(device_id)))

    def online(self, device_ids: Iterable[UUID]) -> set[UUID]:
        ids = list(device_ids)
        if not ids:
            return set()
        values = self.redis.mget([self._live(d) for d in ids])
        return {d for d, value in zip(ids, values, strict=True) if value is not None}

    def last_seen(self, device_ids: Iterable[UUID]) -> dict[UUID, datetime | None]:
        ids = list(device_ids)
        if not ids:
            return {}
        values = self.redis.mget([self._seen(d) for d in ids])
        return {d: _parse(value) for d, value in zip(ids, values, strict=True)}


def _parse(value: bytes | str | None) -> datetime | None:
    if value is None:
        return None
    text = value.decode() if isinstance(value, bytes) else value
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        return None
