"""Who may do what: the callers (users, devices), roles, and the tenancy wall.

Commands are authorized by the dispatcher (`application.dispatch`) with the
rules of `application.rules`; the helpers here serve queries, which read the
read models with the same callers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from uuid import UUID

from domain.accounts import Role
from domain.base import Actor, ActorKind, DomainError, NotFound


class PermissionDenied(DomainError):
    """The caller is known but may not do this (403)."""


class Unauthenticated(DomainError):
    """No caller, or its token or session is no longer valid (401)."""


@dataclass(frozen=True)
class Principal:
    """The authenticated caller of a command or query."""

    user_id: UUID
    role: Role
    client_id: UUID | None
    session_id: UUID | None = None

    @property
    def actor(self) -> Actor:
        return Actor(ActorKind.USER, str(self.user_id))

    @property
    def is_staff(self) -> bool:
        """Staff and admins work across all clients (staff read, admins change)."""
        return self.role in (Role.STAFF, Role.ADMIN)


@dataclass(frozen=True)
class DevicePrincipal:
    """A paired device, by its device token: it acts on its own zone only."""

    device_id: UUID
    zone_id: UUID
    client_id: UUID

    @property
    def actor(self) -> Actor:
        return Actor(ActorKind.DEVICE, str(self.device_id))


@dataclass(frozen=True)
class Operator:
    """Whoever runs the machine: the CLI, acting with an admin's rights on the
    operator's own authority (no token: they already hold the servers)."""

    name: str = "cli"

    @property
    def actor(self) -> Actor:
        return Actor.system(self.name)


Caller = Principal | DevicePrincipal | Operator | None


def caller_key(caller: Principal | DevicePrincipal | Operator) -> str:
    """What per-caller rate limits count by: the user, the device, the operator."""
    if isinstance(caller, DevicePrincipal):
        return f"device:{caller.device_id}"
    if isinstance(caller, Operator):
        return f"operator:{caller.name}"
    return f"user:{caller.user_id}"


def actor_of(caller: Caller) -> Actor:
    return Actor.system("anonymous") if caller is None else caller.actor


def require_role(principal: Principal, *roles: Role) -> None:
    if principal.role not in roles:
        allowed = " or ".join(r.value for r in roles)
        raise PermissionDenied(f"this needs the {allowed} role")


def ensure_visible(principal: Principal, client_id: UUID | None, what: str, obj_id: UUID) -> None:
    """Client users see only their own client's objects; others' look absent (404)."""
    if principal.is_staff:
        return
    if client_id is None or client_id != principal.client_id:
        raise NotFound(f"{what} {obj_id} not found")


def visible_row(principal: Principal, row: dict[str, Any] | None, what: str,
                obj_id: UUID) -> dict[str, Any]:
    """A read-model row the caller may see; a missing row and another client's
    row are both reported as absent."""
    if row is None:
        raise NotFound(f"{what} {obj_id} not found")
    ensure_visible(principal, row["client_id"], what, obj_id)
    return row


def tenant_filter(principal: Principal) -> UUID | None:
    """The client to restrict a list to; None means every client (staff/admin)."""
    if principal.is_staff:
        return None
    if principal.client_id is None:  # pragma: no cover - client users always have one
        raise PermissionDenied("this account belongs to no client")
    return principal.client_id

