"""Device presence in Redis: heartbeats refresh a key with a TTL; only transitions are events.

Each device has two keys: a *live* key that expires `ttl_seconds` after the
last heartbeat (the device is online while it exists), and a *last seen* key
kept much longer, so "last seen at" survives the device going offline. Both
hold the ISO time of the last heartbeat and are written by one Lua script,
which also answers whether the live key existed before (False: the device has
just come online).

The sweeper turns expired live keys into `WentOffline` events for the devices
the read model still shows online.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from contextlib import suppress
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from application.devices import DevicesApplication
from domain.base import CommandContext, NotFound
from domain.device import Device
from projections.devices import DevicesView

log = logging.getLogger(__name__)

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


def record_heartbeat(devices: DevicesApplication, presence: Presence, device: Device,
                     ctx: CommandContext, ip_address: str | None = None
                     ) -> tuple[datetime, int | None]:
    """Refresh presence; record `WentOnline` if the device was not online.

    Returns the heartbeat's time and the position of the event (None: no event).
    The device is the one loaded to authenticate the caller; if it is recorded
    offline, a heartbeat brings it back even while its live key exists.
    """
    now = presence.clock()
    came_online = presence.heartbeat(device.id, now)
    if not came_online and device.is_online:
        return now, None
    try:
        _, position = devices.mark_online(ctx, device.id, ip_address)
    except BaseException:
        with suppress(Exception):  # so that the next heartbeat records it again
            presence.forget(device.id)
        raise
    return now, position


class PresenceSweeper:
    """Marks offline the devices shown online whose live key has expired."""

    def __init__(self, devices: DevicesApplication, view: DevicesView,
                 presence: Presence) -> None:
        self.devices = devices
        self.view = view
        self.presence = presence

    def sweep(self, ctx_factory: Callable[[], CommandContext]) -> list[UUID]:
        """One pass; returns the devices it recorded as gone offline."""
        candidates = self.view.online_device_ids()
        present = self.presence.online(candidates)
        gone = [d for d in candidates if d not in present]
        seen = self.presence.last_seen(gone)
        swept = []
        for device_id in gone:
            try:
                _, position = self.devices.mark_offline(ctx_factory(), device_id, seen[device_id])
            except NotFound:  # deleted meanwhile; the view will drop it
                continue
            if position is None:  # already offline: the view had not caught up yet
                continue
            if self.presence.is_online(device_id):
                # A heartbeat arrived between our look and our write; it may have
                # found the device still online and recorded nothing, so undo.
                self.devices.mark_online(ctx_factory(), device_id)
            else:
                swept.append(device_id)
        return swept

    def run(self, stop: threading.Event, interval: float,
            ctx_factory: Callable[[], CommandContext]) -> None:
        """Sweep every `interval` seconds until `stop` is set (run it on its own thread)."""
        while not stop.wait(interval):
            try:
                swept = self.sweep(ctx_factory)
                if swept:
                    log.info("presence: %d device(s) went offline", len(swept))
            except Exception:
                log.exception("presence sweep failed; trying again in %s s", interval)
