"""The accounts' common part: the application's services and clock, loading users and
clients, tokens' secrets (its sessions and passwords: application/account_sessions.py;
sign-up, users and clients: application/accounts.py)."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.persistence import JSONTranscoder
from eventsourcing.utils import EnvType

from application.common import (
    ObservedSaves,
    register_common_transcodings,
)
from application.ports import Mailer, PasswordHasher
from application.versions import VersionedApplication
from domain.accounts import (
    normalise_email,
)
from domain.base import Actor, ActorKind, CommandContext, NotFound
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


def new_token_id() -> str:
    return secrets.token_urlsafe(16)


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def as_user(ctx: CommandContext, user_id: UUID) -> CommandContext:
    return replace(ctx, actor=Actor(ActorKind.USER, str(user_id)))


class AccountsBase(ObservedSaves, VersionedApplication, Application[UUID]):
    """What every part of the accounts uses: its services, clock and loading."""

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


class _DummyHash:
    """A real hash of a throwaway password, computed once per hasher."""

    def __init__(self) -> None:
        self._cache: dict[int, str] = {}

    def get(self, hasher: PasswordHasher) -> str:
        key = id(hasher)
        if key not in self._cache:
            self._cache[key] = hasher.hash(secrets.token_urlsafe(12))
        return self._cache[key]


DUMMY_HASH = _DummyHash()
