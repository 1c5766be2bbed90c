"""The admin panel's commands: sync2gear admins manage every client and user.

The ADMIN rule does not depend on whose object it is, so these commands name
no target: the rule is applied first (401/403), and only then does the handler
load the client or user (404 when there is none).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any
from uuid import UUID

from application.accounts import AccountsApplication
from application.admin import AccountsAdmin
from application.authz import Principal
from application.dispatch import Command, Handler
from application.rules import ADMIN, Grant
from domain.accounts import Role, Tier
from domain.base import CommandContext
from domain.client import Client
from domain.user import User

ClientResult = tuple[Client, int | None]
UserResult = tuple[User, int | None]


@dataclass(frozen=True)
class CreateClient(Command[ClientResult]):
    """Register a client; its subscription starts today unless told otherwise."""

    rule = ADMIN
    name: str
    email: str
    phone: str = ""
    tier: Tier = Tier.BASIC
    subscription_start: date | None = None
    subscription_end: date | None = None
    timezone: str = "UTC"
    # Overrides of the tier's limits (None: the tier's default, domain.plan)
    max_devices: int | None = None
    max_storage_gb: int | None = None
    max_zones: int | None = None
    max_schedules: int | None = None


@dataclass(frozen=True)
class ChangeClient(Command[ClientResult]):
    """Contact details, subscription (tier, period, limits) and status."""

    rule = ADMIN
    client_id: UUID
    changes: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class CancelClient(Command[ClientResult]):
    rule = ADMIN
    client_id: UUID


@dataclass(frozen=True)
class CreateUser(Command[UserResult]):
    """A user of a client, or a staff or admin user."""

    rule = ADMIN
    email: str
    password: str = field(repr=False)
    name: str
    role: Role = Role.CLIENT
    client_id: UUID | None = None
    phone: str = ""
    timezone: str = "UTC"


@dataclass(frozen=True)
class ChangeUser(Command[UserResult]):
    """Profile, role and the active flag."""

    rule = ADMIN
    user_id: UUID
    changes: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class DeactivateUser(Command[UserResult]):
    rule = ADMIN
    user_id: UUID


def _acting(grant: Grant) -> Principal | None:
    """The admin acting (None: the operator, from the CLI)."""
    return grant.caller if isinstance(grant.caller, Principal) else None


def handlers(accounts: AccountsApplication) -> list[tuple[type[Any], Handler]]:
    admin = AccountsAdmin(accounts)

    def create_client(c: CreateClient, g: Grant, ctx: CommandContext) -> ClientResult:
        return admin.create_client(
            ctx, name=c.name, email=c.email, phone=c.phone, tier=c.tier,
            subscription_start=c.subscription_start, subscription_end=c.subscription_end,
            timezone=c.timezone, max_devices=c.max_devices, max_storage_gb=c.max_storage_gb,
            max_zones=c.max_zones, max_schedules=c.max_schedules)

    def create_user(c: CreateUser, g: Grant, ctx: CommandContext) -> UserResult:
        return admin.create_user(ctx, email=c.email, password=c.password, name=c.name,
                                 role=c.role, client_id=c.client_id, phone=c.phone,
                                 timezone=c.timezone)

    return [
        (CreateClient, create_client),
        (ChangeClient, lambda c, g, ctx: admin.update_client(ctx, c.client_id, **c.changes)),
        (CancelClient, lambda c, g, ctx: admin.cancel_client(ctx, c.client_id)),
        (CreateUser, create_user),
        (ChangeUser, lambda c, g, ctx: admin.update_user(_acting(g), ctx, c.user_id,
                                                         **c.changes)),
        (DeactivateUser, lambda c, g, ctx: admin.deactivate_user(_acting(g), ctx, c.user_id)),
    ]
