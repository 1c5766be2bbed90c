"""The devices context's rules: its errors, a device's fields and a reported play.

Pure checks, used by the aggregates of domain/device.py (and found there too).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from domain.base import DomainError

EDITABLE = ("name", "device_type", "model", "firmware_version")
MAX_LENGTH = {"device_id": 255, "name": 255, "device_type": 50, "model": 100,
              "firmware_version": 50}
REQUIRED = ("device_id", "name", "device_type")

PLAY_KINDS = ("track", "announcement")
MAX_PLAY = timedelta(hours=6)  # longer than any item: a report claiming more is wrong
FUTURE_SLACK = timedelta(minutes=1)  # a device's server-clock estimate may run a little ahead


class DevicesError(DomainError):
    """Base of the devices context's broken rules."""


class TooManyDevices(DevicesError):
    """The client already has as many devices as its subscription allows (409)."""


class HardwareIdTaken(DevicesError):
    """Another device (of any client) is registered with this hardware id (409)."""


class InvalidVolume(DevicesError):
    pass


class InvalidDevice(DevicesError):
    """A field of a device is empty, too long, or cannot be changed (422)."""


class DeviceDeleted(DevicesError):
    pass


class PairingCodeInvalid(DevicesError):
    """The pairing code is unknown, expired or already used."""


class InvalidPlayReport(DevicesError):
    """A reported play is malformed: unknown kind, ends before it starts, in the future (422)."""


def hardware_key(hardware_id: str) -> str:
    """The KeyIndex key that makes a hardware id unique across all clients."""
    return f"device:{hardware_id}"


def check_fields(fields: dict[str, Any]) -> dict[str, str]:
    """Strip text fields; raise InvalidDevice if one is empty (when required) or too long."""
    cleaned = {}
    for key, value in fields.items():
        if not isinstance(value, str):
            raise InvalidDevice(f"{key} must be text")
        text = value.strip()
        if key in REQUIRED and not text:
            raise InvalidDevice(f"a device needs a {key.replace('_', ' ')}")
        if len(text) > MAX_LENGTH[key]:
            raise InvalidDevice(f"{key} is longer than {MAX_LENGTH[key]} characters")
        cleaned[key] = text
    return cleaned


def check_volume(volume: Any) -> int:
    if isinstance(volume, bool) or not isinstance(volume, int) or not 0 <= volume <= 100:
        raise InvalidVolume(f"volume must be a whole number from 0 to 100, not {volume!r}")
    return volume


def check_play(play: dict[str, Any], now: datetime) -> None:
    """A play a device reports (DevicePlay): a known kind, ending after it starts
    (within MAX_PLAY), and not in the future."""
    if play["kind"] not in PLAY_KINDS:
        raise InvalidPlayReport(f"a play is a track or an announcement, not {play['kind']!r}")
    started, ended = play["started_at"], play["ended_at"]
    if not started < ended <= started + MAX_PLAY:
        raise InvalidPlayReport(f"play {play['play_id']}: it must end after it starts, "
                                f"within {MAX_PLAY}")
    if ended > now + FUTURE_SLACK:
        raise InvalidPlayReport(f"play {play['play_id']} ends in the future")
