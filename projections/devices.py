"""The devices read model: one row per device, behind `/api/devices/` and the sweeper."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any
from uuid import UUID

from eventsourcing.dispatch import singledispatchmethod
from eventsourcing.persistence import Tracking, TrackingRecorder
from eventsourcing.projection import Projection

from domain.device import DEFAULT_VOLUME, Device
from domain.pairing import PairingCode
from projections.accounts import Page

Row = dict[str, Any]


class DevicesView(TrackingRecorder, ABC):
    @abstractmethod
    def put(self, row: Row, tracking: Tracking) -> None: ...

    @abstractmethod
    def change(self, device_id: UUID, changes: Row, tracking: Tracking) -> None: ...

    @abstractmethod
    def remove(self, device_id: UUID, tracking: Tracking) -> None: ...

    # queries
    @abstractmethod
    def get(self, device_id: UUID) -> Row | None: ...

    @abstractmethod
    def list_devices(self, *, client_id: UUID | None, zone_id: UUID | None, offset: int,
                     limit: int) -> Page: ...

    @abstractmethod
    def online_device_ids(self) -> list[UUID]:
        """Devices whose last recorded transition was to online."""

    @abstractmethod
    def list_by_presence(self, *, client_id: UUID | None, is_online: bool | None,
                         offset: int, limit: int) -> Page:
        """Devices of every client (or one), filtered by recorded presence (admin panel)."""

    @abstractmethod
    def count_devices(self, client_id: UUID | None = None) -> tuple[int, int]:
        """(devices, of which online by recorded presence) of one client or of all."""

    # -- pairing codes (housekeeping) --------------------------------------------------

    @abstractmethod
    def put_pairing_code(self, row: Row, tracking: Tracking) -> None: ...

    @abstractmethod
    def pairing_code_used(self, pairing_id: UUID, device_id: UUID,
                          tracking: Tracking) -> None: ...

    @abstractmethod
    def remove_pairing_code(self, pairing_id: UUID, tracking: Tracking) -> None: ...

    @abstractmethod
    def unused_pairing_codes_expired(self, now: Any, limit: int) -> list[UUID]:
        """Codes never used whose time ran out before `now`."""


def device_row(device: Device) -> Row:
    """A device aggregate in the shape of its row (a command's answer)."""
    return {
        "id": device.id, "client_id": device.client_id, "zone_id": device.zone_id,
        "device_id": device.device_id, "name": device.name, "device_type": device.device_type,
        "model": device.model, "firmware_version": device.firmware_version,
        "volume": device.volume, "ip_address": device.ip_address,
        "is_online": device.is_online, "last_seen": device.last_seen,
        "has_token": device.token_id is not None,
        "created_at": device.created_on, "updated_at": device.modified_on,
    }


class DevicesProjection(Projection[DevicesView]):
    name = "devices_view"

    @singledispatchmethod
    def process_event(self, domain_event: Any, tracking: Tracking) -> None:
        """Rosters and key indexes are not shown; they still advance."""
        self.view.insert_tracking(tracking)

    @process_event.register
    def _registered(self, e: Device.Registered, tracking: Tracking) -> None:
        self.view.put({
            "id": e.originator_id, "client_id": e.client_id, "zone_id": e.zone_id,
            "device_id": e.device_id, "name": e.name, "device_type": e.device_type,
            "model": e.model, "firmware_version": e.firmware_version,
            "volume": DEFAULT_VOLUME, "ip_address": None, "is_online": False,
            "last_seen": None, "has_token": False, "created_by": e.actor_id,
            "created_at": e.timestamp, "updated_at": e.timestamp,
        }, tracking)

    @process_event.register
    def _updated(self, e: Device.Updated, tracking: Tracking) -> None:
        self._change(e, dict(e.changes), tracking)

    @process_event.register
    def _moved(self, e: Device.Moved, tracking: Tracking) -> None:
        self._change(e, {"zone_id": e.zone_id}, tracking)

    @process_event.register
    def _volume(self, e: Device.VolumeSet, tracking: Tracking) -> None:
        self._change(e, {"volume": e.volume}, tracking)

    @process_event.register
    def _online(self, e: Device.WentOnline, tracking: Tracking) -> None:
        self._change(e, {"is_online": True, "ip_address": e.ip_address, "last_seen": e.at},
                     tracking)

    @process_event.register
    def _offline(self, e: Device.WentOffline, tracking: Tracking) -> None:
        self._change(e, {"is_online": False, "last_seen": e.last_seen}, tracking)

    @process_event.register
    def _token_issued(self, e: Device.TokenIssued, tracking: Tracking) -> None:
        self._change(e, {"has_token": True}, tracking)

    @process_event.register
    def _token_revoked(self, e: Device.TokenRevoked, tracking: Tracking) -> None:
        self._change(e, {"has_token": False}, tracking)

    @process_event.register
    def _deleted(self, e: Device.Deleted, tracking: Tracking) -> None:
        self.view.remove(e.originator_id, tracking)

    @process_event.register
    def _pairing_created(self, e: PairingCode.Created, tracking: Tracking) -> None:
        self.view.put_pairing_code({
            "id": e.originator_id, "client_id": e.client_id, "zone_id": e.zone_id,
            "expires_at": e.expires_at, "used_by": None, "created_at": e.timestamp,
        }, tracking)

    @process_event.register
    def _pairing_used(self, e: PairingCode.Used, tracking: Tracking) -> None:
        self.view.pairing_code_used(e.originator_id, e.device_id, tracking)

    @process_event.register
    def _pairing_expired(self, e: PairingCode.Expired, tracking: Tracking) -> None:
        self.view.remove_pairing_code(e.originator_id, tracking)

    def _change(self, e: Device.Event, changes: Row, tracking: Tracking) -> None:
        self.view.change(e.originator_id, {**changes, "updated_at": e.timestamp}, tracking)
