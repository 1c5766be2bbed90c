"""Devices: registering and pairing them, their tokens, volume and presence."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any
from uuid import UUID

from application.authz import DevicePrincipal
from application.devices import DeviceGrant, DevicesApplication, Result
from application.dispatch import Command, Handler
from application.rules import (
    CLIENT_MEMBER,
    DEVICE_PRESENCE,
    PUBLIC,
    TENANT_WRITE,
    ZONE_FOLLOW,
    Grant,
)
from domain.base import Actor, ActorKind, CommandContext
from domain.device import Device

# (device, ip address, ctx) -> (heartbeat time, event position)
Heartbeat = Callable[[Device, str | None, CommandContext], tuple[datetime, int | None]]


@dataclass(frozen=True)
class RegisterDevice(Command[Result]):
    rule, target_kind = CLIENT_MEMBER, "zone"
    zone_id: UUID
    hardware_id: str
    name: str
    device_type: str
    model: str = ""
    firmware_version: str = ""


@dataclass(frozen=True)
class PairDevice(Command[DeviceGrant]):
    """The pairing code is the credential: no token needed."""

    rule = PUBLIC
    code: str
    hardware_id: str
    name: str
    device_type: str
    model: str = ""
    firmware_version: str = ""


@dataclass(frozen=True)
class CreatePairingCode(Command[tuple[str, datetime]]):
    rule, target_kind = TENANT_WRITE, "zone"
    zone_id: UUID


@dataclass(frozen=True)
class DeviceCommand(Command[Result]):
    rule, target_kind = TENANT_WRITE, "device"
    device_id: UUID


@dataclass(frozen=True)
class UpdateDevice(DeviceCommand):
    changes: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class DeleteDevice(DeviceCommand):
    pass


@dataclass(frozen=True)
class SetDeviceVolume(DeviceCommand):
    volume: int = 0


@dataclass(frozen=True)
class RevokeDeviceToken(DeviceCommand):
    pass


@dataclass(frozen=True)
class IssueDeviceToken(Command[DeviceGrant]):
    rule, target_kind = TENANT_WRITE, "device"
    device_id: UUID


@dataclass(frozen=True)
class RecordHeartbeat(Command[tuple[datetime, int | None]]):
    """The device says it is alive (its own token, or a user who may change it)."""

    rule, target_kind = DEVICE_PRESENCE, "device"
    while_lapsed = True  # a lapsed client's devices keep playing, and are seen to
    device_id: UUID
    ip_address: str | None = None


@dataclass(frozen=True)
class ZoneHeartbeat(Command[tuple[datetime, int | None] | None]):
    """`heartbeat` on a zone's socket: a device's counts as its presence; a
    dashboard's only keeps the socket alive."""

    rule, target_kind, message = ZONE_FOLLOW, "zone", "heartbeat"
    while_lapsed = True
    zone_id: UUID


def handlers(devices: DevicesApplication, max_devices: Callable[[UUID], int],
             heartbeat: Heartbeat) -> list[tuple[type[Any], Handler]]:
    def register(c: RegisterDevice, g: Grant, ctx: CommandContext) -> Result:
        assert g.scope is not None
        return devices.register(ctx, g.scope, hardware_id=c.hardware_id, name=c.name,
                                device_type=c.device_type, zone_id=c.zone_id, model=c.model,
                                firmware_version=c.firmware_version,
                                max_devices=max_devices(g.scope))

    def pair(c: PairDevice, g: Grant, ctx: CommandContext) -> DeviceGrant:
        ctx = replace(ctx, actor=Actor(ActorKind.DEVICE, f"hardware:{c.hardware_id}"))
        return devices.pair(ctx, code=c.code, hardware_id=c.hardware_id, name=c.name,
                            device_type=c.device_type, model=c.model,
                            firmware_version=c.firmware_version, max_devices_for=max_devices)

    def record(c: RecordHeartbeat, g: Grant, ctx: CommandContext
               ) -> tuple[datetime, int | None]:
        return heartbeat(devices.get_device(c.device_id, g.scope), c.ip_address, ctx)

    def zone_heartbeat(c: ZoneHeartbeat, g: Grant, ctx: CommandContext
                       ) -> tuple[datetime, int | None] | None:
        if not isinstance(g.caller, DevicePrincipal):
            return None
        return heartbeat(devices.get_device(g.caller.device_id), None, ctx)

    return [
        (RegisterDevice, register),
        (PairDevice, pair),
        (CreatePairingCode, lambda c, g, ctx: devices.create_pairing_code(ctx, g.scope,
                                                                           c.zone_id)),
        (UpdateDevice, lambda c, g, ctx: devices.update(ctx, g.scope, c.device_id,
                                                        **c.changes)),
        (DeleteDevice, lambda c, g, ctx: devices.delete(ctx, g.scope, c.device_id)),
        (SetDeviceVolume, lambda c, g, ctx: devices.set_volume(ctx, g.scope, c.device_id,
                                                               c.volume)),
        (RevokeDeviceToken, lambda c, g, ctx: devices.revoke_token(ctx, g.scope, c.device_id)),
        (IssueDeviceToken, lambda c, g, ctx: devices.issue_token(ctx, g.scope, c.device_id)),
        (RecordHeartbeat, record),
        (ZoneHeartbeat, zone_heartbeat),
    ]
