"""Pairing a device with a zone: a single-use code, then the device that uses it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError

from application.common import (
    last_position,
    retry_on_conflict,
)
from application.devices_base import DeviceGrant, DevicesBase, new_token_id
from domain.base import CommandContext, acting
from domain.device import (
    Device,
    HardwareIdTaken,
    PairingCodeInvalid,
    check_fields,
)
from domain.pairing import PairingCode, normalise_code, pairing_code_id


class PairingCommands(DevicesBase):
    @retry_on_conflict
    def create_pairing_code(
        self, ctx: CommandContext, client_id: UUID | None, zone_id: UUID
    ) -> tuple[str, datetime]:
        """A fresh single-use code for the zone, valid for ten minutes.

        `client_id` is the caller's client (None: an admin, for any zone). A code
        that collides with an earlier one fails to save, and the retry draws anew.
        """
        owner = self._zone_client(zone_id, client_id)
        with acting(ctx):
            pairing = PairingCode.create(code=self._new_code(), zone_id=zone_id,
                                         client_id=owner, now=self.clock())
        self.save(pairing)
        return pairing.code, pairing.expires_at

    @retry_on_conflict
    def expire_pairing_code(self, ctx: CommandContext, pairing_id: UUID, *,
                            now: datetime) -> bool:
        """Retire a code that ran out unused (housekeeping; idempotent)."""
        try:
            pairing: Any = self.repository.get(pairing_id)
        except AggregateNotFoundError:
            return False
        if not isinstance(pairing, PairingCode):
            return False
        with acting(ctx):
            expired = pairing.expire(now)
        self.save(pairing)
        return bool(expired)

    def _pairing_code(self, code: str) -> PairingCode:
        try:
            pairing: Any = self.repository.get(pairing_code_id(normalise_code(code)))
        except AggregateNotFoundError:
            raise PairingCodeInvalid("this pairing code is not valid") from None
        if not isinstance(pairing, PairingCode):
            raise PairingCodeInvalid("this pairing code is not valid")
        return pairing

    @retry_on_conflict
    def pair(
        self, ctx: CommandContext, *, code: str, hardware_id: str, name: str,
        device_type: str, model: str = "", firmware_version: str = "",
        max_devices_for: Callable[[UUID], int],
    ) -> DeviceGrant:
        """Spend a pairing code: register the device in the code's zone and issue its token.

        A device already registered to the same client (same hardware id) is
        re-paired instead: moved to the code's zone, with a new token.
        """
        now = self.clock()
        pairing = self._pairing_code(code)
        pairing.check_usable(now)
        if self._zone_owner is not None and self._zone_owner(pairing.zone_id) != pairing.client_id:
            raise PairingCodeInvalid("the zone of this pairing code no longer exists")
        hardware_id = check_fields({"device_id": hardware_id})["device_id"]
        token_id = new_token_id()
        with acting(ctx):
            device, touched = self._device_to_pair(
                pairing, hardware_id, name=name, device_type=device_type, model=model,
                firmware_version=firmware_version, max_devices_for=max_devices_for)
            device.issue_token(token_id)
            pairing.use(device.id, now)
        position = last_position(self.save(pairing, device, *touched))
        return DeviceGrant(device, token_id, position)

    def _device_to_pair(
        self, pairing: PairingCode, hardware_id: str, *, name: str, device_type: str,
        model: str, firmware_version: str, max_devices_for: Callable[[UUID], int],
    ) -> tuple[Device, list[Any]]:
        index = self._hardware_index(hardware_id)
        if index is not None and index.owner_id is not None:
            device = self.get_device(index.owner_id)
            if device.client_id != pairing.client_id:
                raise HardwareIdTaken(
                    f"a device with hardware id '{hardware_id}' is already registered")
            device.move_to(pairing.zone_id)
            device.update(**{k: v for k, v in (("model", model),
                                               ("firmware_version", firmware_version)) if v})
            return device, []
        device = Device.register(
            client_id=pairing.client_id, zone_id=pairing.zone_id, hardware_id=hardware_id,
            name=name, device_type=device_type, model=model, firmware_version=firmware_version)
        roster = self._roster(pairing.client_id)
        roster.add(device.id, max_devices_for(pairing.client_id))
        return device, [roster, self._claim_hardware_id(index, device)]

