"""The Accounts application: clients, users, sessions and password resets."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar
from uuid import UUID, uuid4

from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.persistence import JSONTranscoder
from eventsourcing.utils import EnvType

from application.common import (
    ObservedSaves,
    last_position,
    register_common_transcodings,
    retry_on_conflict,
)
from application.ports import Mailer, PasswordHasher
from application.versions import VersionedApplication
from domain.accounts import (
    AccountDisabled,
    EmailAlreadyRegistered,
    InvalidCredentials,
    InvalidToken,
    RefreshTokenReused,
    Role,
    SubscriptionStatus,
    Tier,
    WrongPassword,
    check_password_strength,
    normalise_email,
)
from domain.base import Actor, ActorKind, CommandContext, NotFound, acting
from domain.client import Client
from domain.key_index import KeyIndex, email_key, index_id
from domain.session import Session
from domain.user import User

RESET_TOKEN_TTL = timedelta(hours=1)


@dataclass(frozen=True)
class SessionGrant:
    """What the interface needs to mint a token pair for a user."""

    user: User
    session_id: UUID
    token_id: str
    position: int | None


def _new_token_id() -> str:
    return secrets.token_urlsafe(16)


def _hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _as_user(ctx: CommandContext, user_id: UUID) -> CommandContext:
    return replace(ctx, actor=Actor(ActorKind.USER, str(user_id)))


class AccountsApplication(ObservedSaves, VersionedApplication, Application[UUID]):
    name = "accounts"
    snapshotting_intervals: ClassVar[dict[type[Any], int]] = {User: 50, Session: 50}

    def __init__(
        self,
        env: EnvType | None = None,
        *,
        hasher: PasswordHasher | None = None,
        mailer: Mailer | None = None,
        reset_link: Callable[[str], str] = lambda token: token,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        super().__init__(env)
        self._hasher = hasher
        self._mailer = mailer
        self._reset_link = reset_link
        self.clock = clock

    def register_transcodings(self, transcoder: JSONTranscoder) -> None:
        super().register_transcodings(transcoder)
        register_common_transcodings(transcoder)

    @property
    def hasher(self) -> PasswordHasher:
        if self._hasher is None:
            raise RuntimeError("AccountsApplication was built without a password hasher")
        return self._hasher

    # -- loading -------------------------------------------------------------

    def get_user(self, user_id: UUID) -> User:
        user: User = self._get(user_id, User, "user")
        return user

    def get_client(self, client_id: UUID) -> Client:
        client: Client = self._get(client_id, Client, "client")
        return client

    def find_user_by_email(self, email: str) -> User | None:
        try:
            index: Any = self.repository.get(index_id(email_key(normalise_email(email))))
        except AggregateNotFoundError:
            return None
        assert isinstance(index, KeyIndex)
        return None if index.owner_id is None else self.get_user(index.owner_id)

    def _get(self, aggregate_id: UUID, cls: type[Any], what: str) -> Any:
        try:
            aggregate: Any = self.repository.get(aggregate_id)
        except AggregateNotFoundError:
            raise NotFound(f"{what} {aggregate_id} not found") from None
        if not isinstance(aggregate, cls):
            raise NotFound(f"{what} {aggregate_id} not found")
        return aggregate

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
        with acting(_as_user(ctx, user_id)):
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
            session = Session(user_id=user.id, token_id=_new_token_id())
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

    # -- logging in, sessions ------------------------------------------------

    @retry_on_conflict
    def login(self, ctx: CommandContext, *, email: str, password: str) -> SessionGrant:
        user = self.find_user_by_email(email)
        if user is None:
            self.hasher.verify(password, _DUMMY_HASH.get(self.hasher))  # same timing
            raise InvalidCredentials("no active account found with the given credentials")
        if not self.hasher.verify(password, user.password_hash):
            raise InvalidCredentials("no active account found with the given credentials")
        self._check_may_log_in(user)
        with acting(_as_user(ctx, user.id)):
            user.record_login(self.clock())
            session = Session(user_id=user.id, token_id=_new_token_id())
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
        with acting(_as_user(ctx, user.id)):
            session.rotate(token_id, _new_token_id())
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
            session.rotate(session.token_id, _new_token_id())
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
        position = self._store_reset(ctx, user.id, _hash_secret(secret))
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
        with acting(_as_user(ctx, user.id)):
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
        with acting(_as_user(ctx, user.id)):
            user.reset_password(_hash_secret(secret), self.hasher.hash(new_password), self.clock())
        return last_position(self.save(user))

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


class _DummyHash:
    """A real hash of a throwaway password, computed once per hasher."""

    def __init__(self) -> None:
        self._cache: dict[int, str] = {}

    def get(self, hasher: PasswordHasher) -> str:
        key = id(hasher)
        if key not in self._cache:
            self._cache[key] = hasher.hash(secrets.token_urlsafe(12))
        return self._cache[key]


_DUMMY_HASH = _DummyHash()
