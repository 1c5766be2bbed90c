"""Shapes of devices on the wire, and a device's row with its live presence."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

from pydantic import BaseModel, Field, StringConstraints
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from application.ports import Presence
from domain.device import Device
from interfaces.http.schemas import ONE_LINE, ONE_LINE_CHECK
from projections.devices import device_row

log = logging.getLogger(__name__)

HardwareId = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1,
                                               max_length=255, pattern=ONE_LINE), ONE_LINE_CHECK]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=255,
                                        pattern=ONE_LINE), ONE_LINE_CHECK]
DeviceType = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1,
                                               max_length=50, pattern=ONE_LINE), ONE_LINE_CHECK]
Model = Annotated[str, StringConstraints(strip_whitespace=True, max_length=100,
                                         pattern=ONE_LINE), ONE_LINE_CHECK]
Firmware = Annotated[str, StringConstraints(strip_whitespace=True, max_length=50,
                                            pattern=ONE_LINE), ONE_LINE_CHECK]


class DeviceOut(BaseModel):
    id: UUID
    name: str
    device_type: str = Field(description="speaker, tablet, browser, ...")
    device_id: str = Field(description="the hardware id (unique across all clients)")
    model: str
    firmware_version: str
    ip_address: str | None
    last_seen: datetime | None = Field(description="time of the last heartbeat")
    is_online: bool
    volume: int
    zone: UUID
    client: UUID
    has_token: bool = Field(description="whether a device token is currently valid")
    created_at: datetime | None = None
    updated_at: datetime | None = None


class DeviceToken(BaseModel):
    device: DeviceOut
    token: str = Field(description="the device token: `Authorization: Bearer <token>` on "
                       "heartbeats, `?token=` on the WebSocket")


class RegisterIn(BaseModel):
    device_id: HardwareId = Field(description="the hardware id")
    name: Name
    device_type: DeviceType
    zone: UUID
    model: Model = ""
    firmware_version: Firmware = ""


class DevicePatch(BaseModel):
    name: Name | None = None
    device_type: DeviceType | None = None
    zone: UUID | None = None
    model: Model | None = None
    firmware_version: Firmware | None = None


class VolumeIn(BaseModel):
    volume: Annotated[int, Field(ge=0, le=100)]


class HeartbeatOut(BaseModel):
    is_online: bool
    last_seen: datetime


class PairIn(BaseModel):
    code: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=32)]
    device_id: HardwareId = Field(description="the hardware id")
    name: Name
    device_type: DeviceType
    model: Model = ""
    firmware_version: Firmware = ""


class PairingCodeOut(BaseModel):
    code: str = Field(description="8 characters, single use")
    zone_id: UUID
    expires_at: datetime


def devices_out(presence: Presence, rows: list[dict[str, Any]]) -> list[DeviceOut]:
    """Rows with live presence from Redis; the recorded presence if Redis is unreachable."""
    ids = [row["id"] for row in rows]
    try:
        online, seen = presence.online(ids), presence.last_seen(ids)
    except (RedisConnectionError, RedisTimeoutError) as e:
        log.warning("presence unavailable, showing recorded presence: %s", e)
        online, seen = {r["id"] for r in rows if r["is_online"]}, {}
    return [_out(r, is_online=r["id"] in online, last_seen=seen.get(r["id"]) or r["last_seen"])
            for r in rows]


def _out(row: dict[str, Any], *, is_online: bool, last_seen: datetime | None) -> DeviceOut:
    return DeviceOut(
        id=row["id"], name=row["name"], device_type=row["device_type"],
        device_id=row["device_id"], model=row["model"],
        firmware_version=row["firmware_version"], ip_address=row["ip_address"],
        last_seen=last_seen, is_online=is_online, volume=row["volume"], zone=row["zone_id"],
        client=row["client_id"], has_token=row["has_token"], created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


def device_out(presence: Presence, device: Device) -> DeviceOut:
    return devices_out(presence, [device_row(device)])[0]
