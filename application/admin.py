"""The admin panel's commands: sync2gear admins manage every client and user.

Staff may read everything (the queries go to the read models) and change
nothing; admins change. Each command here is a normal event-sourced command on
the accounts aggregates (load, decide, save), recorded with the admin as its
actor. Nothing is ever deleted: a client is cancelled, a user deactivated.
"""

from __future__ import annotations

from datetime import date
from typing import Any
from uuid import UUID

from application.accounts import AccountsApplication
from application.authz import PermissionDenied, Principal, require_role
from application.common import last_position, retry_on_conflict
from domain.accounts import (
    AccountsError,
    InvalidLimits,
    Role,
    SubscriptionStatus,
    Tier,
    normalise_email,
)
from domain.base import CommandContext, acting
from domain.client import SUBSCRIPTION_FIELDS, Client
from domain.user import User

CONTACT_FIELDS = frozenset({"name", "email", "phone", "timezone", "is_active"})
PROFILE_FIELDS = frozenset({"name", "phone", "timezone"})


class CannotLockOutYourself(PermissionDenied):
    """An admin may not take away their own admin role or deactivate themselves."""


class RoleNeedsClient(InvalidLimits):
    """A user with the client role must belong to a client (422, not the 403 that
    the aggregate's AccountDisabled would give: the request is what is wrong)."""

    field = "client_id"


def require_staff(principal: Principal) -> None:
    """Reading the admin panel: sync2gear staff and admins."""
    require_role(principal, Role.STAFF, Role.ADMIN)


class AccountsAdmin:
    """Admin commands over the AccountsApplication (its event store and rules).

    Who may run them is decided before they get here: the dispatcher applies the
    ADMIN rule (`application.commands.admin`)."""

    def __init__(self, accounts: AccountsApplication) -> None:
        self.accounts = accounts

    # -- clients -----------------------------------------------------------------

    def create_client(
        self, ctx: CommandContext, *, name: str, email: str,
        phone: str = "", tier: Tier = Tier.BASIC, subscription_start: date | None = None,
        subscription_end: date | None = None, timezone: str = "UTC", **limits: int | None,
    ) -> tuple[Client, int | None]:
        """Register a client; its subscription starts today unless told otherwise.
        `limits` (max_devices, max_storage_gb, max_zones, max_schedules) override
        the tier's; None or absent: the tier's default."""
        start = subscription_start or self.accounts.clock().date()
        return self._register_client(
            ctx, name=name, email=email, phone=phone, tier=tier, subscription_start=start,
            subscription_end=subscription_end, timezone=timezone, **limits,
        )

    @retry_on_conflict
    def _register_client(self, ctx: CommandContext, *, subscription_end: date | None,
                         email: str, **fields: Any) -> tuple[Client, int | None]:
        with acting(ctx):
            client = Client.register(email=normalise_email(email), **fields)
            if subscription_end is not None:  # the period rule lives in change_subscription
                client.change_subscription(subscription_end=subscription_end)
        return client, last_position(self.accounts.save(client))

    @retry_on_conflict
    def update_client(
        self, ctx: CommandContext, client_id: UUID, **changes: Any
    ) -> tuple[Client, int | None]:
        """Contact details, subscription (tier, period, limits) and status, as one
        save: each kind of change is its own event."""
        _check_fields(changes, CONTACT_FIELDS | SUBSCRIPTION_FIELDS | {"status"})
        if "email" in changes:
            changes["email"] = normalise_email(changes["email"])
        client = self.accounts.get_client(client_id)
        with acting(ctx):
            client.change_details(**_only(changes, CONTACT_FIELDS))
            client.change_subscription(**_only(changes, SUBSCRIPTION_FIELDS))
            if client.lapsed_on is not None:  # a later end date renews it (an event)
                client.review_subscription(self.accounts.clock())
            if "status" in changes:
                client.change_status(SubscriptionStatus(changes["status"]))
        return client, last_position(self.accounts.save(client))

    def cancel_client(
        self, ctx: CommandContext, client_id: UUID
    ) -> tuple[Client, int | None]:
        """The admin panel's delete: the subscription is cancelled, nothing is lost
        (its users can no longer log in; setting the status back restores it)."""
        return self.accounts.change_client_status(ctx, client_id, SubscriptionStatus.CANCELLED)

    # -- users -------------------------------------------------------------------

    def create_user(
        self, ctx: CommandContext, *, email: str, password: str,
        name: str, role: Role, client_id: UUID | None, phone: str = "", timezone: str = "UTC",
    ) -> tuple[User, int | None]:
        if Role(role) is Role.CLIENT and client_id is None:
            raise RoleNeedsClient("a user with the client role needs a client_id")
        return self.accounts.create_user(
            ctx, email=email, password=password, name=name, role=role, client_id=client_id,
            phone=phone, timezone=timezone,
        )

    @retry_on_conflict
    def update_user(
        self, principal: Principal | None, ctx: CommandContext, user_id: UUID, **changes: Any
    ) -> tuple[User, int | None]:
        """Profile, role and the active flag; each kind of change is its own event.
        `principal` is the admin acting: they may not lock themselves out (None:
        the operator, who holds no account here)."""
        _check_fields(changes, PROFILE_FIELDS | {"role", "is_active"})
        role = Role(changes["role"]) if "role" in changes else None
        is_active = changes.get("is_active")
        if principal is not None and user_id == principal.user_id and (
            (role is not None and role is not Role.ADMIN) or is_active is False
        ):
            raise CannotLockOutYourself(
                "you cannot remove your own admin role or deactivate yourself; "
                "ask another admin"
            )
        user = self.accounts.get_user(user_id)
        if role is Role.CLIENT and user.client_id is None:
            raise RoleNeedsClient("this user belongs to no client, so cannot have the "
                                  "client role", field="role")
        with acting(ctx):
            user.update_profile(**_only(changes, PROFILE_FIELDS))
            if role is not None:
                user.change_role(role)
            if is_active is not None:
                user.set_active(bool(is_active))
        return user, last_position(self.accounts.save(user))

    def deactivate_user(
        self, principal: Principal | None, ctx: CommandContext, user_id: UUID
    ) -> tuple[User, int | None]:
        """The admin panel's delete: the user can no longer log in or refresh."""
        return self.update_user(principal, ctx, user_id, is_active=False)


def _check_fields(changes: dict[str, Any], allowed: frozenset[str] | set[str]) -> None:
    unknown = set(changes) - set(allowed)
    if unknown:
        raise AccountsError(f"unknown fields: {sorted(unknown)}")


def _only(changes: dict[str, Any], fields: frozenset[str]) -> dict[str, Any]:
    return {k: v for k, v in changes.items() if k in fields}
