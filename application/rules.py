"""Authorization rules: who may run a command (or read a resource).

Every command class names one rule; the dispatcher applies it to the caller
and to the client owning the command's target before any handler runs. Query
routes name the rule they enforce too (`x-authorization` in the OpenAPI
schema), so the authorization matrix test can check every operation.

Refusals follow the API conventions: no caller or an ended session is 401, a
role that may not act is 403, another client's object is 404 (never reveal it
exists).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from uuid import UUID

from application.authz import (
    Caller,
    DevicePrincipal,
    Operator,
    PermissionDenied,
    Principal,
    Unauthenticated,
)
from domain.accounts import Role
from domain.base import NotFound


@dataclass(frozen=True)
class Target:
    """The object a command acts on: its kind (`zone`, `device`, ...) and id."""

    kind: str
    id: UUID


@dataclass(frozen=True)
class Grant:
    """A caller allowed to act. `owner` is the client owning the target (None
    without a target); `scope` the client whose objects the caller may change
    (None: any, for admins)."""

    caller: Caller
    owner: UUID | None
    scope: UUID | None


class Rule(ABC):
    name: str
    summary: str
    needs_caller = True  # refused (401) without a caller, before the target is looked up

    @abstractmethod
    def grant(self, caller: Caller, target: Target | None, owner: UUID | None) -> Grant:
        """The grant, or raise Unauthenticated / PermissionDenied / NotFound."""

    def __repr__(self) -> str:
        return f"Rule({self.name})"


def _user(caller: Caller, what: str) -> Principal:
    if caller is None:
        raise Unauthenticated("authentication credentials were not provided")
    if isinstance(caller, DevicePrincipal):
        raise PermissionDenied(f"a device token cannot {what}")
    if isinstance(caller, Operator):
        raise PermissionDenied(f"the operator cannot {what}: only a user can")
    return caller


def _hidden(target: Target | None) -> NotFound:
    return NotFound(f"{target.kind} {target.id} not found" if target else "not found")


class Public(Rule):
    name, summary = "public", "anyone, no token needed"
    needs_caller = False

    def grant(self, caller: Caller, target: Target | None, owner: UUID | None) -> Grant:
        return Grant(caller, owner, None)


class SignedIn(Rule):
    name, summary = "signed-in", "any signed-in user (acting on their own account)"

    def grant(self, caller: Caller, target: Target | None, owner: UUID | None) -> Grant:
        user = _user(caller, "do this")
        return Grant(user, owner, user.client_id)


class ClientMember(Rule):
    """Creating things in the caller's own client: only its users can."""

    name, summary = "client-member", "users of a client, in their own client"

    def grant(self, caller: Caller, target: Target | None, owner: UUID | None) -> Grant:
        user = _user(caller, "do this")
        if user.role is not Role.CLIENT or user.client_id is None:
            raise PermissionDenied("only users of a client can add to it")
        if owner is not None and owner != user.client_id:
            raise _hidden(target)
        return Grant(user, user.client_id, user.client_id)


class TenantWriter(Rule):
    """Changing a client's object: its own users and admins; staff only read.
    Devices may act on their own zone (`zone_devices`) or on themselves
    (`device_itself`) when the rule says so."""

    def __init__(self, name: str, summary: str, *, zone_devices: bool = False,
                 device_itself: bool = False) -> None:
        self.name, self.summary = name, summary
        self.zone_devices, self.device_itself = zone_devices, device_itself

    def grant(self, caller: Caller, target: Target | None, owner: UUID | None) -> Grant:
        if isinstance(caller, DevicePrincipal):
            return self._device(caller, target, owner)
        if isinstance(caller, Operator):
            return Grant(caller, owner, None)
        user = _user(caller, "do this")
        if user.role is Role.ADMIN:
            return Grant(user, owner, None)
        if user.role is Role.STAFF:
            raise PermissionDenied("staff have read-only access")
        if owner is None or owner != user.client_id:
            raise _hidden(target)
        return Grant(user, owner, owner)

    def _device(self, device: DevicePrincipal, target: Target | None,
                owner: UUID | None) -> Grant:
        if target is not None and owner == device.client_id and (
            (self.zone_devices and target.kind == "zone" and target.id == device.zone_id)
            or (self.device_itself and target.kind == "device"
                and target.id == device.device_id)
        ):
            return Grant(device, owner, owner)
        if self.device_itself:
            raise PermissionDenied("a device token only reports its own device's heartbeat")
        if self.zone_devices:
            raise PermissionDenied("a device token only acts on its own zone")
        raise PermissionDenied("a device token cannot do this")


class TenantReader(Rule):
    """Reading a client's object: its users, sync2gear staff and admins, and
    (with `zone_devices`) the devices of that zone."""

    def __init__(self, name: str, summary: str, *, zone_devices: bool = False) -> None:
        self.name, self.summary, self.zone_devices = name, summary, zone_devices

    def grant(self, caller: Caller, target: Target | None, owner: UUID | None) -> Grant:
        if isinstance(caller, DevicePrincipal):
            if (self.zone_devices and target is not None and target.kind == "zone"
                    and target.id == caller.zone_id and owner == caller.client_id):
                return Grant(caller, owner, owner)
            raise PermissionDenied("a device token only follows its own zone")
        if isinstance(caller, Operator):
            return Grant(caller, owner, None)
        user = _user(caller, "read this")
        if user.role in (Role.STAFF, Role.ADMIN):
            return Grant(user, owner, None)
        if owner is not None and owner != user.client_id:
            raise _hidden(target)
        return Grant(user, owner, user.client_id)


class Staff(Rule):
    """The admin panel: staff read, admins (only) change."""

    def __init__(self, name: str, summary: str, *roles: Role) -> None:
        self.name, self.summary, self.roles = name, summary, roles

    def grant(self, caller: Caller, target: Target | None, owner: UUID | None) -> Grant:
        if isinstance(caller, Operator):  # the operator has an admin's rights
            return Grant(caller, owner, None)
        user = _user(caller, "use the admin panel")
        if user.role not in self.roles:
            allowed = " or ".join(r.value for r in self.roles)
            raise PermissionDenied(f"this needs the {allowed} role")
        return Grant(user, owner, None)


class System(Rule):
    """What only the system itself does (the clock, the scheduler), as the operator."""

    name, summary = "system", "the system itself (clock, scheduler, operator)"

    def grant(self, caller: Caller, target: Target | None, owner: UUID | None) -> Grant:
        if isinstance(caller, Operator):
            return Grant(caller, owner, None)
        _user(caller, "do this")  # 401 without a caller, 403 for a device
        raise PermissionDenied("only the system itself does this")


PUBLIC = Public()
SIGNED_IN = SignedIn()
CLIENT_MEMBER = ClientMember()
TENANT_WRITE = TenantWriter("tenant-write", "the owning client's users and admins "
                            "(staff read only)")
ZONE_CONTROL = TenantWriter("zone-control", "the zone's client's users, admins, and the "
                            "devices of that zone", zone_devices=True)
DEVICE_PRESENCE = TenantWriter("device-presence", "the device itself, its client's users "
                               "and admins", device_itself=True)
TENANT_READ = TenantReader("tenant-read", "the owning client's users, staff and admins")
ZONE_FOLLOW = TenantReader("zone-follow", "the zone's client's users, staff, admins and the "
                           "devices of that zone", zone_devices=True)
STAFF_READ = Staff("staff-read", "sync2gear staff and admins", Role.STAFF, Role.ADMIN)
ADMIN = Staff("admin", "sync2gear admins", Role.ADMIN)
SYSTEM = System()

RULES: dict[str, Rule] = {rule.name: rule for rule in (
    PUBLIC, SIGNED_IN, CLIENT_MEMBER, TENANT_WRITE, ZONE_CONTROL, DEVICE_PRESENCE,
    TENANT_READ, ZONE_FOLLOW, STAFF_READ, ADMIN, SYSTEM)}
