"""Logging in, sessions (refresh, logout, expiry) and passwords (change, reset by mail)."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from uuid import UUID

from application.accounts_base import (
    DUMMY_HASH,
    RESET_TOKEN_TTL,
    AccountsBase,
    SessionGrant,
    as_user,
    hash_secret,
    new_token_id,
)
from application.common import (
    last_position,
    retry_on_conflict,
)
from domain.accounts import (
    AccountDisabled,
    InvalidCredentials,
    InvalidToken,
    RefreshTokenReused,
    WrongPassword,
    check_password_strength,
)
from domain.base import CommandContext, NotFound, acting
from domain.session import Session
from domain.user import User


class SessionCommands(AccountsBase):
    @retry_on_conflict
    def login(self, ctx: CommandContext, *, email: str, password: str) -> SessionGrant:
        user = self.find_user_by_email(email)
        if user is None:
            self.hasher.verify(password, DUMMY_HASH.get(self.hasher))  # same timing
            raise InvalidCredentials("no active account found with the given credentials")
        if not self.hasher.verify(password, user.password_hash):
            raise InvalidCredentials("no active account found with the given credentials")
        self._check_may_log_in(user)
        with acting(as_user(ctx, user.id)):
            user.record_login(self.clock())
            session = Session(user_id=user.id, token_id=new_token_id())
        position = last_position(self.save(user, session))
        return SessionGrant(user, session.id, session.token_id, position)

    def _check_may_log_in(self, user: User) -> None:
        if not user.is_active:
            raise AccountDisabled("this account is deactivated")
        if user.client_id is not None:
            client = self.get_client(user.client_id)
            if not client.can_log_in:
                status = "inactive" if not client.is_active else client.status.value
                raise AccountDisabled(
                    f"the account of {client.name} is {status}; contact sync2gear support"
                )

    def refresh(
        self, ctx: CommandContext, *, session_id: UUID, token_id: str, credentials_version: int
    ) -> SessionGrant:
        """Rotate a refresh token. A replayed (already rotated) token revokes the family."""
        try:
            return self._rotate(ctx, session_id, token_id, credentials_version)
        except RefreshTokenReused:
            self._revoke(ctx, session_id, "refresh token reused")
            raise

    @retry_on_conflict
    def _rotate(
        self, ctx: CommandContext, session_id: UUID, token_id: str, credentials_version: int
    ) -> SessionGrant:
        session = self._get_session(session_id)
        user = self.get_user(session.user_id)
        self._check_may_log_in(user)
        if credentials_version != user.credentials_version:
            raise InvalidToken("the password changed since this token was issued; log in again")
        with acting(as_user(ctx, user.id)):
            session.rotate(token_id, new_token_id())
        position = last_position(self.save(session))
        return SessionGrant(user, session.id, session.token_id, position)

    def logout(self, ctx: CommandContext, *, user_id: UUID, session_id: UUID) -> int | None:
        session = self._get_session(session_id)
        if session.user_id != user_id:
            raise InvalidToken("this refresh token belongs to another user")
        return self._revoke(ctx, session_id, "logout")

    @retry_on_conflict
    def _revoke(self, ctx: CommandContext, session_id: UUID, reason: str) -> int | None:
        session = self._get_session(session_id)
        with acting(ctx):
            session.revoke(reason)
        return last_position(self.save(session))

    @retry_on_conflict
    def expire_session(self, ctx: CommandContext, session_id: UUID, *, now: datetime,
                       lifetime: timedelta) -> bool:
        """End the session if its refresh token has outlived `lifetime` (housekeeping;
        idempotent: an ended or refreshed session is left as it is)."""
        try:
            session = self._get_session(session_id)
        except InvalidToken:
            return False
        with acting(ctx):
            ended = session.expire(now, lifetime)
        self.save(session)
        return ended

    def _get_session(self, session_id: UUID) -> Session:
        try:
            session = self._get(session_id, Session, "session")
        except NotFound:
            raise InvalidToken("unknown session; log in again") from None
        assert isinstance(session, Session)
        return session

    # -- passwords -----------------------------------------------------------

    @retry_on_conflict
    def change_password(
        self, ctx: CommandContext, user_id: UUID, *, old_password: str, new_password: str
    ) -> int | None:
        """Every session of the user ends (their tokens carry the old credentials)."""
        user = self._password_changed(ctx, user_id, old_password, new_password)
        return last_position(self.save(user))

    @retry_on_conflict
    def change_password_keeping(
        self, ctx: CommandContext, user_id: UUID, session_id: UUID, *, old_password: str,
        new_password: str,
    ) -> SessionGrant:
        """Change the password; every session ends but `session_id`, which is
        rotated (new tokens, under the new credentials) in the same save."""
        session = self._get_session(session_id)
        if session.user_id != user_id or session.is_revoked:
            raise InvalidToken("this session has ended; log in again")
        user = self._password_changed(ctx, user_id, old_password, new_password)
        with acting(ctx):
            session.rotate(session.token_id, new_token_id())
        position = last_position(self.save(user, session))
        return SessionGrant(user, session.id, session.token_id, position)

    def _password_changed(self, ctx: CommandContext, user_id: UUID, old_password: str,
                          new_password: str) -> User:
        user = self.get_user(user_id)
        if not self.hasher.verify(old_password, user.password_hash):
            raise WrongPassword("the current password is not correct")
        check_password_strength(new_password)
        with acting(ctx):
            user.change_password(self.hasher.hash(new_password))
        return user

    def request_password_reset(self, ctx: CommandContext, email: str) -> int | None:
        """Mail a single-use reset link. Unknown emails do nothing, visibly alike."""
        user = self.find_user_by_email(email)
        if user is None or not user.is_active:
            return None
        secret = secrets.token_urlsafe(32)
        position = self._store_reset(ctx, user.id, hash_secret(secret))
        token = f"{user.id.hex}.{secret}"
        if self._mailer is not None:
            self._mailer.send(
                user.email,
                "Reset your sync2gear password",
                f"Hello {user.name},\n\nUse this link within "
                f"{int(RESET_TOKEN_TTL.total_seconds() // 60)} minutes to choose a new "
                f"password:\n\n{self._reset_link(token)}\n\nReset token: {token}\n\n"
                "If you did not ask for this, ignore this message.\n",
            )
        return position

    @retry_on_conflict
    def _store_reset(self, ctx: CommandContext, user_id: UUID, token_hash: str) -> int | None:
        user = self.get_user(user_id)
        with acting(as_user(ctx, user.id)):
            user.request_password_reset(token_hash, self.clock() + RESET_TOKEN_TTL)
        return last_position(self.save(user))

    @retry_on_conflict
    def confirm_password_reset(
        self, ctx: CommandContext, *, token: str, new_password: str
    ) -> int | None:
        user_hex, _, secret = token.partition(".")
        try:
            user = self.get_user(UUID(hex=user_hex))
        except (ValueError, NotFound):
            raise InvalidToken("this password reset link is invalid, used or expired") from None
        check_password_strength(new_password)
        with acting(as_user(ctx, user.id)):
            user.reset_password(hash_secret(secret), self.hasher.hash(new_password), self.clock())
        return last_position(self.save(user))

