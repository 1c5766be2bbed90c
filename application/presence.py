"""Device presence as use cases: a heartbeat, and sweeping the devices gone silent.

Heartbeats are not events: presence lives in a store with a short TTL
(`Presence`, infra/presence.py), and only transitions are recorded, as the
device's `WentOnline` and `WentOffline`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from contextlib import suppress
from datetime import datetime
from typing import Protocol
from uuid import UUID

from application.devices import DevicesApplication
from application.ports import Presence
from domain.base import CommandContext, NotFound
from domain.device import Device

log = logging.getLogger(__name__)


class OnlineDevices(Protocol):
    def online_device_ids(self) -> list[UUID]:
        """Devices whose last recorded transition was to online (the devices view)."""


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
    """Marks offline the devices shown online whose presence has lapsed."""

    def __init__(self, devices: DevicesApplication, view: OnlineDevices,
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
        if swept:
            log.info("presence: %d device(s) went offline", len(swept))
        return swept
