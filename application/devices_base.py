"""The devices' common part: loading with the tenancy wall, whose a zone is, the
client's roster and hardware ids (pairing: application/device_pairing.py; the
rest of the Devices application: application/devices.py)."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, ClassVar
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.persistence import JSONTranscoder
from eventsourcing.utils import EnvType

from application.common import (
    ObservedSaves,
    SetAsList,
    load_live,
    register_common_transcodings,
)
from application.versions import VersionedApplication
from domain.base import NotFound
from domain.device import (
    Device,
    DeviceRoster,
    HardwareIdTaken,
    hardware_key,
    roster_id,
)
from domain.key_index import KeyIndex, index_id
from domain.pairing import ALPHABET, CODE_LENGTH

Result = tuple[Device, int | None]
ZoneOwner = Callable[[UUID], UUID | None]


def new_pairing_code() -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))


def new_token_id() -> str:
    return secrets.token_urlsafe(16)


@dataclass(frozen=True)
class DeviceGrant:
    """A device and the id of the device token just issued to it."""

    device: Device
    token_id: str
    position: int | None


class DevicesBase(ObservedSaves, VersionedApplication, Application[UUID]):
    """What every part of the devices uses: loading, zones' owners, rosters, hardware ids."""

    snapshotting_intervals: ClassVar[dict[type[Any], int]] = {Device: 100, DeviceRoster: 100}

    def __init__(
        self, env: EnvType | None = None, *, zone_owner: ZoneOwner | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        new_code: Callable[[], str] = new_pairing_code,
    ) -> None:
        super().__init__(env)
        self._zone_owner = zone_owner
        self.clock = clock
        self._new_code = new_code

    def register_transcodings(self, transcoder: JSONTranscoder) -> None:
        super().register_transcodings(transcoder)
        register_common_transcodings(transcoder)
        transcoder.register(SetAsList())

    def get_device(self, device_id: UUID, client_id: UUID | None = None) -> Device:
        """The device; another client's (or a deleted) device is reported as absent."""
        return load_live(self.repository, device_id, Device, "device", client_id)

    def device_count(self, client_id: UUID) -> int:
        try:
            roster: DeviceRoster = self.repository.get(roster_id(client_id))
        except AggregateNotFoundError:
            return 0
        return len(roster.device_ids)

    def _zone_client(self, zone_id: UUID, client_scope: UUID | None) -> UUID:
        """The client owning the zone, if the caller may see it; else NotFound."""
        if self._zone_owner is None:
            raise RuntimeError("DevicesApplication was built without a zone_owner")
        owner = self._zone_owner(zone_id)
        if owner is None or (client_scope is not None and owner != client_scope):
            raise NotFound(f"zone {zone_id} not found")
        return owner

    def _roster(self, client_id: UUID) -> DeviceRoster:
        """The client's roster, opened on first use (call inside `acting`)."""
        try:
            roster: DeviceRoster = self.repository.get(roster_id(client_id))
        except AggregateNotFoundError:
            roster = DeviceRoster(client_id=client_id)
        return roster

    def _hardware_index(self, hardware_id: str) -> KeyIndex | None:
        try:
            index: KeyIndex = self.repository.get(index_id(hardware_key(hardware_id)))
        except AggregateNotFoundError:
            return None
        return index

    def _claim_hardware_id(self, index: KeyIndex | None, device: Device) -> KeyIndex:
        """Claim (or reclaim a released) hardware id for a new device (inside `acting`)."""
        if index is None:
            return KeyIndex(key=hardware_key(device.device_id), owner_id=device.id)
        if index.owner_id is not None:
            raise HardwareIdTaken(
                f"a device with hardware id '{device.device_id}' is already registered")
        index.reclaim(device.id)
        return index
