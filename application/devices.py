"""The Devices application: registering and pairing devices, their tokens and presence.

Zones belong to the Playback context; this application only asks whose a zone
is, through the `zone_owner` function it is given (None: no such zone).
"""

from __future__ import annotations

import hmac
from datetime import datetime
from typing import Any
from uuid import UUID

from application.common import (
    last_position,
    retry_on_conflict,
)
from application.device_pairing import PairingCommands
from application.devices_base import (
    DeviceGrant,
    Result,
    ZoneOwner,
    new_pairing_code,
    new_token_id,
)
from domain.accounts import InvalidToken
from domain.base import CommandContext, NotFound, acting
from domain.device import (
    Device,
)

__all__ = ["DeviceGrant", "DevicesApplication", "Result", "ZoneOwner", "new_pairing_code"]


class DevicesApplication(PairingCommands):
    """Registering, editing, tokens and presence here; pairing in `PairingCommands`
    (application/device_pairing.py), loading and rosters in `DevicesBase`."""

    name = "devices"

    # -- registering and editing ----------------------------------------------------------

    @retry_on_conflict
    def register(
        self, ctx: CommandContext, client_id: UUID, *, hardware_id: str, name: str,
        device_type: str, zone_id: UUID, model: str = "", firmware_version: str = "",
        max_devices: int,
    ) -> Result:
        """Register a device in one of the client's zones, within its device limit."""
        self._zone_client(zone_id, client_id)
        with acting(ctx):
            device = Device.register(
                client_id=client_id, zone_id=zone_id, hardware_id=hardware_id, name=name,
                device_type=device_type, model=model, firmware_version=firmware_version)
            index = self._claim_hardware_id(self._hardware_index(device.device_id), device)
            roster = self._roster(client_id)
            roster.add(device.id, max_devices)
        return device, last_position(self.save(device, roster, index))

    @retry_on_conflict
    def update(
        self, ctx: CommandContext, client_scope: UUID | None, device_id: UUID, **changes: Any
    ) -> Result:
        """Change name, device_type, model, firmware_version, or zone_id (same client)."""
        device = self.get_device(device_id, client_scope)
        zone_id = changes.pop("zone_id", None)
        if zone_id is not None and zone_id != device.zone_id:
            self._zone_client(zone_id, device.client_id)
        with acting(ctx):
            changed = device.update(**changes)
            if zone_id is not None:
                changed = device.move_to(zone_id) or changed
        return device, last_position(self.save(device)) if changed else None

    @retry_on_conflict
    def set_volume(
        self, ctx: CommandContext, client_scope: UUID | None, device_id: UUID, volume: int
    ) -> Result:
        device = self.get_device(device_id, client_scope)
        with acting(ctx):
            changed = device.set_volume(volume)
        return device, last_position(self.save(device)) if changed else None

    @retry_on_conflict
    def delete(self, ctx: CommandContext, client_scope: UUID | None, device_id: UUID) -> Result:
        """Delete a device: its roster slot and its hardware id are free again."""
        device = self.get_device(device_id, client_scope)
        touched: list[Any] = []
        with acting(ctx):
            device.delete()
            roster = self._roster(device.client_id)
            if roster.remove(device.id):
                touched.append(roster)
            index = self._hardware_index(device.device_id)
            if index is not None and index.owner_id == device.id:
                index.release()
                touched.append(index)
        return device, last_position(self.save(device, *touched))

    # -- device tokens ---------------------------------------------------------------------

    @retry_on_conflict
    def issue_token(
        self, ctx: CommandContext, client_scope: UUID | None, device_id: UUID
    ) -> DeviceGrant:
        """A new device token id; the device's earlier token stops working."""
        device = self.get_device(device_id, client_scope)
        token_id = new_token_id()
        with acting(ctx):
            device.issue_token(token_id)
        return DeviceGrant(device, token_id, last_position(self.save(device)))

    @retry_on_conflict
    def revoke_token(
        self, ctx: CommandContext, client_scope: UUID | None, device_id: UUID
    ) -> Result:
        device = self.get_device(device_id, client_scope)
        with acting(ctx):
            changed = device.revoke_token()
        return device, last_position(self.save(device)) if changed else None

    def check_token(self, device_id: UUID, token_id: str) -> Device:
        """The device whose current token this is; InvalidToken otherwise."""
        try:
            device = self.get_device(device_id)
        except NotFound:
            raise InvalidToken("device token is invalid: the device does not exist") from None
        current = device.token_id
        if current is None or not hmac.compare_digest(current, token_id):
            raise InvalidToken("device token has been revoked or replaced")
        return device

    # -- presence --------------------------------------------------------------------------

    @retry_on_conflict
    def mark_online(
        self, ctx: CommandContext, device_id: UUID, ip_address: str | None = None
    ) -> Result:
        """Record that the device came online; no event if it already is."""
        device = self.get_device(device_id)
        with acting(ctx):
            changed = device.go_online(ip_address, self.clock())
        return device, last_position(self.save(device)) if changed else None

    @retry_on_conflict
    def mark_offline(
        self, ctx: CommandContext, device_id: UUID, last_seen: datetime | None = None
    ) -> Result:
        """Record that the device went offline; no event if it already is."""
        device = self.get_device(device_id)
        with acting(ctx):
            changed = device.go_offline(last_seen)
        return device, last_position(self.save(device)) if changed else None
