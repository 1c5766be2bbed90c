"""The Accounts application: clients, users, sessions and password resets."""

from __future__ import annotations

from typing import Any
from uuid import UUID, uuid4

from eventsourcing.application import AggregateNotFoundError

from application.account_sessions import SessionCommands
from application.accounts_base import RESET_TOKEN_TTL, SessionGrant, as_user, new_token_id
from application.common import (
    last_position,
    retry_on_conflict,
)
from domain.accounts import (
    EmailAlreadyRegistered,
    Role,
    SubscriptionStatus,
    Tier,
    check_password_strength,
    normalise_email,
)
from domain.base import CommandContext, acting
from domain.client import Client
from domain.key_index import KeyIndex, email_key, index_id
from domain.session import Session
from domain.user import User

__all__ = ["RESET_TOKEN_TTL", "AccountsApplication", "SessionGrant"]


class AccountsApplication(SessionCommands):
    """Sign-up, users and clients here; logging in, sessions and passwords in
    `SessionCommands` (application/account_sessions.py)."""

    name = "accounts"

    # -- sign-up and users ---------------------------------------------------

    @retry_on_conflict
    def signup(
        self,
        ctx: CommandContext,
        *,
        email: str,
        password: str,
        name: str,
        client_name: str,
        phone: str = "",
        timezone: str = "UTC",
    ) -> SessionGrant:
        """Create a business (client), its first user, and log that user in."""
        email = normalise_email(email)
        check_password_strength(password)
        self._check_email_free(email)
        user_id = uuid4()
        with acting(as_user(ctx, user_id)):
            client = Client.register(  # the business keeps its first user's time zone
                name=client_name, email=email, phone=phone,
                subscription_start=self.clock().date(), timezone=timezone,
            )
            user = User.register(
                id=user_id, email=email, name=name, client_id=client.id, phone=phone,
                timezone=timezone, password_hash=self.hasher.hash(password),
            )
            index = KeyIndex(key=email_key(email), owner_id=user.id)
            user.record_login(self.clock())
            session = Session(user_id=user.id, token_id=new_token_id())
        position = last_position(self.save(client, user, index, session))
        return SessionGrant(user, session.id, session.token_id, position)

    @retry_on_conflict
    def create_user(
        self,
        ctx: CommandContext,
        *,
        email: str,
        password: str,
        name: str,
        role: Role,
        client_id: UUID | None,
        phone: str = "",
        timezone: str = "UTC",
    ) -> tuple[User, int | None]:
        email = normalise_email(email)
        check_password_strength(password)
        self._check_email_free(email)
        if client_id is not None:
            self.get_client(client_id)
        with acting(ctx):
            user = User.register(
                email=email, name=name, client_id=client_id, role=Role(role),
                phone=phone, timezone=timezone, password_hash=self.hasher.hash(password),
            )
            index = KeyIndex(key=email_key(email), owner_id=user.id)
        return user, last_position(self.save(user, index))

    def _check_email_free(self, email: str) -> None:
        try:
            self.repository.get(index_id(email_key(email)))
        except AggregateNotFoundError:
            return
        raise EmailAlreadyRegistered(f"a user with email {email} already exists")

    @retry_on_conflict
    def update_profile(
        self, ctx: CommandContext, user_id: UUID, **changes: Any
    ) -> tuple[User, int | None]:
        user = self.get_user(user_id)
        with acting(ctx):
            user.update_profile(**changes)
        return user, last_position(self.save(user))

    @retry_on_conflict
    def set_avatar(self, ctx: CommandContext, user_id: UUID, avatar_key: str,
                   thumbnail_key: str) -> tuple[User, int | None]:
        user = self.get_user(user_id)
        with acting(ctx):
            user.set_avatar(avatar_key, thumbnail_key)
        return user, last_position(self.save(user))

    @retry_on_conflict
    def remove_avatar(self, ctx: CommandContext, user_id: UUID) -> tuple[User, int | None]:
        user = self.get_user(user_id)
        with acting(ctx):
            removed = user.remove_avatar()
        return user, last_position(self.save(user)) if removed else None

    # -- administration (used by the admin panel and the CLI) ----------------

    @retry_on_conflict
    def change_client_status(
        self, ctx: CommandContext, client_id: UUID, status: SubscriptionStatus
    ) -> tuple[Client, int | None]:
        client = self.get_client(client_id)
        with acting(ctx):
            client.change_status(status)
        return client, last_position(self.save(client))

    @retry_on_conflict
    def change_client(
        self, ctx: CommandContext, client_id: UUID, **changes: Any
    ) -> tuple[Client, int | None]:
        client = self.get_client(client_id)
        with acting(ctx):
            client.change_details(**changes)
        return client, last_position(self.save(client))

    @retry_on_conflict
    def register_client(
        self, ctx: CommandContext, *, name: str, email: str, tier: Tier = Tier.BASIC, **kw: Any
    ) -> tuple[Client, int | None]:
        with acting(ctx):
            client = Client.register(name=name, email=normalise_email(email), tier=tier, **kw)
        return client, last_position(self.save(client))
