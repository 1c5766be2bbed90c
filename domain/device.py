"""The Device aggregate (a speaker, tablet or browser in a zone) and the per-client roster.

A device's hardware id is unique across the whole system: the application
claims a `KeyIndex` keyed `device:<hardware id>` in the same save as the
device. Every device of a client also takes a slot in that client's
`DeviceRoster`, one stream per client, so optimistic concurrency keeps two
registrations racing for the last slot from both winning.

Heartbeats are not events: presence lives in Redis, and only the transitions
(online, offline) are recorded here.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import event

from domain.base import TracedAggregate

# The rules moved to domain/device_rules.py; importers still find these names here.
from domain.device_rules import EDITABLE, check_play, check_volume
from domain.device_rules import DeviceDeleted as DeviceDeleted
from domain.device_rules import HardwareIdTaken as HardwareIdTaken
from domain.device_rules import InvalidDevice as InvalidDevice
from domain.device_rules import InvalidPlayReport as InvalidPlayReport
from domain.device_rules import InvalidVolume as InvalidVolume
from domain.device_rules import PairingCodeInvalid as PairingCodeInvalid
from domain.device_rules import TooManyDevices as TooManyDevices
from domain.device_rules import check_fields as check_fields
from domain.device_rules import hardware_key as hardware_key
from domain.lifecycle import Deletable

DEFAULT_VOLUME = 70


class Device(Deletable, TracedAggregate):
    deleted_error = DeviceDeleted  # domain/lifecycle.py
    deleted_message = "{name} {id} has been deleted"

    class Registered(TracedAggregate.Created):
        client_id: UUID
        zone_id: UUID
        device_id: str
        name: str
        device_type: str
        model: str
        firmware_version: str

    @event(Registered)
    def __init__(self, client_id: UUID, zone_id: UUID, device_id: str, name: str,
                 device_type: str, model: str, firmware_version: str) -> None:
        self.client_id, self.zone_id, self.device_id = client_id, zone_id, device_id
        self.name, self.device_type = name, device_type
        self.model, self.firmware_version = model, firmware_version
        self.volume = DEFAULT_VOLUME
        self.ip_address: str | None = None
        self.is_online = False
        self.last_seen: datetime | None = None
        self.token_id: str | None = None
        self.is_deleted = False

    @classmethod
    def register(cls, *, client_id: UUID, zone_id: UUID, hardware_id: str, name: str,
                 device_type: str, model: str = "", firmware_version: str = "") -> Device:
        fields = check_fields({"device_id": hardware_id, "name": name,
                               "device_type": device_type, "model": model,
                               "firmware_version": firmware_version})
        return cls(client_id=client_id, zone_id=zone_id, **fields)

    # -- details -------------------------------------------------------------------

    class Updated(TracedAggregate.Event):
        changes: dict[str, str]

    def update(self, **changes: Any) -> bool:
        """Change name, type, model or firmware version; only real changes are recorded."""
        self._check_alive()
        unknown = set(changes) - set(EDITABLE)
        if unknown:
            raise InvalidDevice(f"these device fields cannot be changed: {sorted(unknown)}")
        changed = self._differing(check_fields(changes))
        if changed:
            self._updated(changes=changed)
        return bool(changed)

    @event(Updated)
    def _updated(self, changes: dict[str, str]) -> None:
        self._assign(changes)

    class Moved(TracedAggregate.Event):
        zone_id: UUID

    def move_to(self, zone_id: UUID) -> bool:
        self._check_alive()
        if zone_id == self.zone_id:
            return False
        self._moved(zone_id=zone_id)
        return True

    @event(Moved)
    def _moved(self, zone_id: UUID) -> None:
        self.zone_id = zone_id

    class VolumeSet(TracedAggregate.Event):
        volume: int

    def set_volume(self, volume: int) -> bool:
        self._check_alive()
        if check_volume(volume) == self.volume:
            return False
        self._volume_set(volume=volume)
        return True

    @event(VolumeSet)
    def _volume_set(self, volume: int) -> None:
        self.volume = volume

    # -- presence ------------------------------------------------------------------

    class WentOnline(TracedAggregate.Event):
        ip_address: str | None
        at: datetime

    def go_online(self, ip_address: str | None, now: datetime) -> bool:
        """Record the transition to online; a device already online records nothing."""
        self._check_alive()
        if self.is_online:
            return False
        self._went_online(ip_address=ip_address or self.ip_address, at=now)
        return True

    @event(WentOnline)
    def _went_online(self, ip_address: str | None, at: datetime) -> None:
        self.is_online, self.ip_address, self.last_seen = True, ip_address, at

    class WentOffline(TracedAggregate.Event):
        last_seen: datetime | None

    def go_offline(self, last_seen: datetime | None) -> bool:
        """Record the transition to offline, with the last heartbeat if known."""
        self._check_alive()
        if not self.is_online:
            return False
        self._went_offline(last_seen=last_seen or self.last_seen)
        return True

    @event(WentOffline)
    def _went_offline(self, last_seen: datetime | None) -> None:
        self.is_online, self.last_seen = False, last_seen

    # -- device token ----------------------------------------------------------------

    class TokenIssued(TracedAggregate.Event):
        token_id: str

    def issue_token(self, token_id: str) -> None:
        """Make `token_id` the only valid device token: any earlier one stops working."""
        self._check_alive()
        if not token_id or token_id == self.token_id:
            raise InvalidDevice("a new device token needs a new token id")
        self._token_issued(token_id=token_id)

    @event(TokenIssued)
    def _token_issued(self, token_id: str) -> None:
        self.token_id = token_id

    class TokenRevoked(TracedAggregate.Event):
        pass

    def revoke_token(self) -> bool:
        self._check_alive()
        if self.token_id is None:
            return False
        self._token_revoked()
        return True

    @event(TokenRevoked)
    def _token_revoked(self) -> None:
        self.token_id = None

    # -- deletion --------------------------------------------------------------------

    class Deleted(TracedAggregate.Event):
        pass

    _deleted = event(Deleted)(Deletable._deleted)  # delete() (domain/lifecycle.py)

    def _let_go(self) -> None:
        self.is_online, self.token_id = False, None


def roster_id(client_id: UUID) -> UUID:
    return uuid5(NAMESPACE_URL, f"sync2gear:device-roster:{client_id}")


class DeviceRoster(TracedAggregate):
    """The devices a client has registered: never more than its limit.

    The same idea as `domain.roster.Roster` (zones, schedules), kept apart
    because its stored topics (`domain.device:DeviceRoster.Added`, field
    `device_id`) must not change."""

    class Opened(TracedAggregate.Created):
        client_id: UUID

    @staticmethod
    def create_id(client_id: UUID) -> UUID:
        return roster_id(client_id)

    @event(Opened)
    def __init__(self, client_id: UUID) -> None:
        self.client_id = client_id
        self.device_ids: set[UUID] = set()

    class Added(TracedAggregate.Event):
        device_id: UUID

    def add(self, device_id: UUID, max_devices: int) -> bool:
        if device_id in self.device_ids:
            return False
        if len(self.device_ids) >= max_devices:
            raise TooManyDevices(
                f"device limit reached: {len(self.device_ids)} of {max(max_devices, 0)}"
            )
        self._added(device_id=device_id)
        return True

    @event(Added)
    def _added(self, device_id: UUID) -> None:
        self.device_ids.add(device_id)

    class Removed(TracedAggregate.Event):
        device_id: UUID

    def remove(self, device_id: UUID) -> bool:
        if device_id not in self.device_ids:
            return False
        self._removed(device_id=device_id)
        return True

    @event(Removed)
    def _removed(self, device_id: UUID) -> None:
        self.device_ids.discard(device_id)


# -- plays a device made offline (issue 17) ----------------------------------------------


class DevicePlay(TracedAggregate):
    """One play a device made while it could not reach the server, reported when it
    could again. The id derives from the device and the device's own play id, so a
    report sent twice (a retry after a lost answer) records each play once. Saved in
    the playback store, where proof of play (projections/history.py) finds it."""

    class Reported(TracedAggregate.Created):
        zone_id: UUID
        client_id: UUID
        device_id: UUID
        play_id: str
        kind: str
        item_id: UUID
        title: str
        artist: str
        duration_ms: int
        schedule_id: str | None
        started_at: datetime
        ended_at: datetime
        end_reason: str

    @staticmethod
    def create_id(device_id: UUID, play_id: str) -> UUID:
        return device_play_id(device_id, play_id)

    @event(Reported)
    def __init__(self, zone_id: UUID, client_id: UUID, device_id: UUID, play_id: str,
                 kind: str, item_id: UUID, title: str, artist: str, duration_ms: int,
                 schedule_id: str | None, started_at: datetime, ended_at: datetime,
                 end_reason: str) -> None:
        self.zone_id, self.client_id, self.device_id = zone_id, client_id, device_id
        self.play_id, self.kind, self.item_id = play_id, kind, item_id
        self.title, self.artist, self.duration_ms = title, artist, duration_ms
        self.schedule_id = schedule_id
        self.started_at, self.ended_at, self.end_reason = started_at, ended_at, end_reason

    @classmethod
    def report(cls, *, now: datetime, **play: Any) -> DevicePlay:
        """Check the play's rules (domain/device_rules.py), then record it."""
        check_play(play, now)
        return cls(**play)


def device_play_id(device_id: UUID, play_id: str) -> UUID:
    return uuid5(NAMESPACE_URL, f"sync2gear:device-play:{device_id}:{play_id}")
