"""The PairingCode aggregate: a short, single-use code that pairs a device with a zone.

A dashboard user creates a code for a zone; the device types it in (or scans
it) and receives its device token. The aggregate's id derives from the code,
so a code can be found from what the device presents, and two codes that
happen to collide cannot both be created.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import event

from domain.base import TracedAggregate
from domain.device import PairingCodeInvalid

# No 0/O, 1/I/L: a code read aloud or typed from a screen is not misread.
ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 8
PAIRING_TTL = timedelta(minutes=10)


def normalise_code(text: str) -> str:
    """Codes are case-insensitive and may be typed with spaces or dashes."""
    return "".join(ch for ch in text.upper() if ch not in " -\t")


def is_well_formed(code: str) -> bool:
    return len(code) == CODE_LENGTH and all(ch in ALPHABET for ch in code)


def pairing_code_id(code: str) -> UUID:
    return uuid5(NAMESPACE_URL, f"sync2gear:pairing-code:{normalise_code(code)}")


class PairingCode(TracedAggregate):
    # 2: `expired`, set by the Expired event (housekeeping)
    class_version = 2

    @staticmethod
    def upcast_v1_v2(state: dict[str, Any]) -> None:
        state["expired"] = False

    class Created(TracedAggregate.Created):
        code: str
        zone_id: UUID
        client_id: UUID
        expires_at: datetime

    @staticmethod
    def create_id(code: str) -> UUID:
        return pairing_code_id(code)

    @event(Created)
    def __init__(self, code: str, zone_id: UUID, client_id: UUID, expires_at: datetime) -> None:
        self.code = code
        self.zone_id = zone_id
        self.client_id = client_id
        self.expires_at = expires_at
        self.used_by: UUID | None = None
        self.expired = False

    @classmethod
    def create(cls, *, code: str, zone_id: UUID, client_id: UUID, now: datetime,
               ttl: timedelta = PAIRING_TTL) -> PairingCode:
        code = normalise_code(code)
        if not is_well_formed(code):
            raise ValueError(f"a pairing code is {CODE_LENGTH} characters of {ALPHABET}")
        return cls(code=code, zone_id=zone_id, client_id=client_id, expires_at=now + ttl)

    def is_usable(self, now: datetime) -> bool:
        return self.used_by is None and not self.expired and now < self.expires_at

    def check_usable(self, now: datetime) -> None:
        if self.used_by is not None:
            raise PairingCodeInvalid("this pairing code has already been used")
        if self.expired or now >= self.expires_at:
            raise PairingCodeInvalid("this pairing code has expired; create a new one")

    class Used(TracedAggregate.Event):
        device_id: UUID

    def use(self, device_id: UUID, now: datetime) -> None:
        """Spend the code on a device; it cannot be used again."""
        self.check_usable(now)
        self._used(device_id=device_id)

    @event(Used)
    def _used(self, device_id: UUID) -> None:
        self.used_by = device_id

    class Expired(TracedAggregate.Event):
        pass

    def expire(self, now: datetime) -> bool:
        """Retire a code never used before its time ran out; whether it was retired now."""
        if self.used_by is not None or self.expired or now < self.expires_at:
            return False
        self._expired()
        return True

    @event(Expired)
    def _expired(self) -> None:
        self.expired = True
