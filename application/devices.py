"""The Devices application: registering and pairing devices, their tokens and presence.

Zones belong to the Playback context; this application only asks whose a zone
is, through the `zone_owner` function it is given (None: no such zone).
"""

from __future__ import annotations

import hmac
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
    last_position,
    load_live,
    register_common_transcodings,
    retry_on_conflict,
)
from application.versions import VersionedApplication
from domain.accounts import InvalidToken
from domain.base import CommandContext, NotFound, acting
from domain.device import (
    Device,
    DeviceRoster,
    HardwareIdTaken,
    PairingCodeInvalid,
    check_fields,
    hardware_key,
    roster_id,
)
from domain.key_index import KeyIndex, index_id
from domain.pairing import ALPHABET, CODE_LENGTH, PairingCode, normalise_code, pairing_code_id

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


class DevicesApplication(ObservedSaves, VersionedApplication, Application[UUID]):
    name = "devices"
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

    # -- loading with the tenancy wall -------------------------------------------------

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

    # -- pairing -------------------------------------------------------------------------

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
