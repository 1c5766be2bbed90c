"""Accounts: signing up, logging in and out, sessions, profiles and passwords.

Signing up, logging in, refreshing, logging out and password resets carry
their own credential (a password, a refresh token, a reset token), so their
rule is PUBLIC; the rest act on the signed-in caller's own account.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from application.accounts import AccountsApplication, SessionGrant
from application.authz import Principal
from application.dispatch import Command, Handler
from application.media_jobs import MediaProcessor
from application.ports import IncomingFile
from application.rules import PUBLIC, SIGNED_IN, Grant
from application.uploads import read_image
from domain.accounts import InvalidToken
from domain.base import CommandContext
from domain.user import User


@dataclass(frozen=True)
class SignUp(Command[SessionGrant]):
    rule = PUBLIC
    email: str
    password: str = field(repr=False)
    name: str
    client_name: str
    phone: str = ""
    timezone: str = "UTC"


@dataclass(frozen=True)
class LogIn(Command[SessionGrant]):
    rule = PUBLIC
    email: str
    password: str = field(repr=False)


@dataclass(frozen=True)
class RefreshSession(Command[SessionGrant]):
    """The claims of a refresh token (its signature already checked)."""

    rule = PUBLIC
    session_id: UUID
    token_id: str = field(repr=False)
    credentials_version: int


@dataclass(frozen=True)
class LogOut(Command[int | None]):
    """End the session of a refresh token (checked); with an access token too,
    both must be the same user's."""

    rule = PUBLIC
    while_lapsed = True
    user_id: UUID
    session_id: UUID


@dataclass(frozen=True)
class UpdateProfile(Command[tuple[User, int | None]]):
    rule = SIGNED_IN
    changes: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class SetAvatar(Command[tuple[User, int | None]]):
    """The caller's avatar: an image, stored with its thumbnail."""

    rule = SIGNED_IN
    image: IncomingFile


@dataclass(frozen=True)
class RemoveAvatar(Command[tuple[User, int | None]]):
    rule = SIGNED_IN


def avatar_keys(user_id: UUID, ext: str) -> tuple[str, str]:
    """Where a user's avatar and its thumbnail are stored (one of each per user)."""
    base = f"users/{user_id}/avatar"
    return f"{base}.{ext}", f"{base}-thumb.jpg"


@dataclass(frozen=True)
class ChangePassword(Command[SessionGrant]):
    """Every session of the user ends but the caller's, which gets new tokens."""

    rule = SIGNED_IN
    while_lapsed = True
    old_password: str = field(repr=False)
    new_password: str = field(repr=False)


@dataclass(frozen=True)
class RequestPasswordReset(Command[int | None]):
    rule = PUBLIC
    email: str


@dataclass(frozen=True)
class ConfirmPasswordReset(Command[int | None]):
    rule = PUBLIC
    token: str = field(repr=False)
    new_password: str = field(repr=False)


def _me(grant: Grant) -> Principal:
    assert isinstance(grant.caller, Principal)  # SIGNED_IN: a user
    return grant.caller


def handlers(accounts: AccountsApplication, media: MediaProcessor,
             max_image_bytes: int) -> list[tuple[type[Any], Handler]]:
    def set_avatar(c: SetAvatar, g: Grant, ctx: CommandContext) -> tuple[User, int | None]:
        user_id = _me(g).user_id
        was = accounts.get_user(user_id).avatar_key
        keys = media.store_image(read_image(c.image, max_image_bytes),
                                 lambda ext: avatar_keys(user_id, ext))
        result = accounts.set_avatar(ctx, user_id, *keys)
        if was is not None and was != keys[0]:  # another format: another key
            media.storage.delete(was)
        return result

    def remove_avatar(c: RemoveAvatar, g: Grant, ctx: CommandContext
                      ) -> tuple[User, int | None]:
        user_id = _me(g).user_id
        was = accounts.get_user(user_id)
        keys = (was.avatar_key, was.avatar_thumbnail_key)
        result = accounts.remove_avatar(ctx, user_id)
        for key in keys:
            if key is not None:
                media.storage.delete(key)
        return result

    def logout(c: LogOut, g: Grant, ctx: CommandContext) -> int | None:
        if isinstance(g.caller, Principal) and g.caller.user_id != c.user_id:
            raise InvalidToken("this refresh token belongs to another user")
        return accounts.logout(ctx, user_id=c.user_id, session_id=c.session_id)

    def change_password(c: ChangePassword, g: Grant, ctx: CommandContext) -> SessionGrant:
        me = _me(g)
        if me.session_id is None:
            raise InvalidToken("this token names no session; log in again")
        return accounts.change_password_keeping(ctx, me.user_id, me.session_id,
                                                old_password=c.old_password,
                                                new_password=c.new_password)

    return [
        (SignUp, lambda c, g, ctx: accounts.signup(
            ctx, email=c.email, password=c.password, name=c.name, client_name=c.client_name,
            phone=c.phone, timezone=c.timezone)),
        (LogIn, lambda c, g, ctx: accounts.login(ctx, email=c.email, password=c.password)),
        (RefreshSession, lambda c, g, ctx: accounts.refresh(
            ctx, session_id=c.session_id, token_id=c.token_id,
            credentials_version=c.credentials_version)),
        (LogOut, logout),
        (UpdateProfile, lambda c, g, ctx: accounts.update_profile(ctx, _me(g).user_id,
                                                                  **c.changes)),
        (ChangePassword, change_password),
        (SetAvatar, set_avatar),
        (RemoveAvatar, remove_avatar),
        (RequestPasswordReset, lambda c, g, ctx: accounts.request_password_reset(ctx, c.email)),
        (ConfirmPasswordReset, lambda c, g, ctx: accounts.confirm_password_reset(
            ctx, token=c.token, new_password=c.new_password)),
    ]
