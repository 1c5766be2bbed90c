"""Sessions that end when they end.

Every access token names its session (and the user's credentials version),
every device token its device and token id. `SessionGuard.caller(token)` turns
a token into a caller only while all of these still hold:

* the session is not revoked (logout, refresh-token reuse),
* the user is active and the password has not changed since the token,
* the device still exists and this is its current token.

The user's role is read from the same state, not from the token, so a role
change takes effect on the next request. The state lives in a fast cache
(`AuthCache`, Redis): one round trip per check, no PostgreSQL. It is written
through the moment a revoking event is saved (`SessionGuard.saved`, observed
on the accounts and devices applications), refilled from the event store on a
miss, and read from the event store directly while the cache is unreachable;
a projection replays the same events into it, so a write that failed is
repaired. Each change is also announced, so open WebSockets re-check at once.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Application

from application.authz import DevicePrincipal, Principal, Unauthenticated
from domain.accounts import InvalidToken, Role
from domain.device import Device
from domain.session import EXPIRED, Session
from domain.user import User

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class AccessClaims:
    user_id: UUID
    client_id: UUID | None
    role: str
    session_id: UUID
    credentials_version: int | None


@dataclass(frozen=True)
class RefreshClaims:
    user_id: UUID
    session_id: UUID
    token_id: str
    credentials_version: int


@dataclass(frozen=True)
class DeviceClaims:
    device_id: UUID
    zone_id: UUID
    client_id: UUID
    token_id: str


class TokenReader(Protocol):
    def access(self, token: str) -> AccessClaims: ...

    def device_claims(self, token: str) -> DeviceClaims: ...


class AuthCache(Protocol):
    """A shared key-value cache of session, user and device state."""

    def get_many(self, keys: Sequence[str]) -> list[dict[str, Any] | None]:
        """The entries (None: not cached; all None when the cache is unreachable)."""

    def put(self, key: str, value: dict[str, Any], *, ttl: int, only_if_absent: bool = False,
            strict: bool = False) -> None:
        """Store an entry; failures are logged, or raised when `strict`."""

    def announce(self, ended: dict[str, str]) -> None:
        """Tell every process that the state of these ids changed (best effort)."""

    def forget(self, keys: Sequence[str]) -> None:
        """Drop these entries (best effort; a later read refills them)."""


class SessionEnded(Unauthenticated):
    """The token was valid once, but its session, user or device says no more."""


# The events after which a session, user or device must be looked at again.
USER_EVENTS = (User.PasswordChanged, User.RoleChanged, User.ActiveChanged)
SESSION_EVENTS = (Session.Started, Session.Revoked)
DEVICE_EVENTS = (Device.Registered, Device.TokenIssued, Device.TokenRevoked, Device.Moved,
                 Device.Deleted)


class SessionGuard:
    def __init__(self, tokens: TokenReader, cache: AuthCache, accounts: Application[UUID],
                 devices: Application[UUID], *, ttl: int = 3600) -> None:
        self._tokens, self._cache, self._ttl = tokens, cache, ttl
        self._accounts, self._devices = accounts, devices

    # -- checking tokens --------------------------------------------------------------

    def caller(self, token: str) -> Principal | DevicePrincipal:
        """The caller a token stands for, now; raises Unauthenticated."""
        claims = self.claims(token)
        return self.check(claims, self._cache.get_many(self.keys(claims)))

    def claims(self, token: str) -> AccessClaims | DeviceClaims:
        """The token's claims, its signature and expiry checked (no I/O)."""
        try:
            return self._tokens.access(token)
        except InvalidToken as access_error:
            try:
                return self._tokens.device_claims(token)
            except InvalidToken:
                raise Unauthenticated(access_error.detail) from None

    def keys(self, claims: AccessClaims | DeviceClaims) -> list[str]:
        """The cache entries `check` needs for these claims."""
        if isinstance(claims, DeviceClaims):
            return [_device_key(claims.device_id)]
        return [_user_key(claims.user_id), _session_key(claims.session_id)]

    def check(self, claims: AccessClaims | DeviceClaims,
              entries: Sequence[dict[str, Any] | None]) -> Principal | DevicePrincipal:
        """The caller, from the cached `entries` of `keys(claims)`; an entry that is
        missing (None) is read from the event store (and cached): only then is there
        I/O, so a caller with every entry cached is checked without any."""
        if isinstance(claims, DeviceClaims):
            return self.device(claims, entries[0])
        return self.user(claims, entries[0], entries[1])

    def user(self, claims: AccessClaims, user: dict[str, Any] | None = None,
             session: dict[str, Any] | None = None) -> Principal:
        user = user or self._load_user(claims.user_id)
        session = session or self._load_session(claims.session_id)
        if session is None or session["user_id"] != str(claims.user_id):
            raise SessionEnded("unknown session; log in again")
        if session["revoked"]:
            raise SessionEnded(f"this session has ended ({session['revoked']}); log in again")
        if user is None or not user["active"]:
            raise SessionEnded("this account is deactivated")
        if claims.credentials_version is None:
            raise SessionEnded("this token is from an older release; refresh it")
        if claims.credentials_version != user["cv"]:
            raise SessionEnded("the password changed since this token was issued; log in again")
        client_id = user["client_id"]
        return Principal(claims.user_id, Role(user["role"]),
                         UUID(client_id) if client_id else None, claims.session_id)

    def device(self, claims: DeviceClaims,
               device: dict[str, Any] | None = None) -> DevicePrincipal:
        device = device or self._load_device(claims.device_id)
        if device is None or device["deleted"]:
            raise SessionEnded("device token is invalid: the device does not exist")
        if device["token_id"] != claims.token_id:
            raise SessionEnded("device token has been revoked or replaced")
        return DevicePrincipal(claims.device_id, UUID(device["zone_id"]),
                               UUID(device["client_id"]))

    # -- keeping the cache current ----------------------------------------------------

    def saved(self, events: Sequence[Any], *, strict: bool = False) -> None:
        """Write through what these (just saved) events changed, and announce it."""
        for kind, agg_id in sorted({k for e in events if (k := _affected(e))}, key=str):
            loader = {"user": self._user_entry, "session": self._session_entry,
                      "device": self._device_entry}[kind]
            entry = loader(agg_id)
            if entry is not None and entry.get("revoked") == EXPIRED:
                # Its tokens outlived their lifetime: nothing will look it up again.
                self._cache.forget([f"{kind[0]}:{agg_id}"])
            elif entry is not None:
                self._cache.put(f"{kind[0]}:{agg_id}", entry, ttl=self._ttl, strict=strict)
            self._cache.announce({f"{kind}_id": str(agg_id)})

    def _load_user(self, user_id: UUID) -> dict[str, Any] | None:
        return self._refill(_user_key(user_id), self._user_entry(user_id))

    def _load_session(self, session_id: UUID) -> dict[str, Any] | None:
        return self._refill(_session_key(session_id), self._session_entry(session_id))

    def _load_device(self, device_id: UUID) -> dict[str, Any] | None:
        return self._refill(_device_key(device_id), self._device_entry(device_id))

    def _refill(self, key: str, entry: dict[str, Any] | None) -> dict[str, Any] | None:
        # Only if absent: a revocation written meanwhile must win over what was read.
        if entry is not None:
            self._cache.put(key, entry, ttl=self._ttl, only_if_absent=True)
        return entry

    def _user_entry(self, user_id: UUID) -> dict[str, Any] | None:
        user = _get(self._accounts, user_id, User)
        if user is None:
            return None
        return {"role": user.role.value, "active": user.is_active,
                "cv": user.credentials_version,
                "client_id": str(user.client_id) if user.client_id else None}

    def _session_entry(self, session_id: UUID) -> dict[str, Any] | None:
        session = _get(self._accounts, session_id, Session)
        if session is None:
            return None
        return {"user_id": str(session.user_id), "revoked": session.revoked_reason}

    def _device_entry(self, device_id: UUID) -> dict[str, Any] | None:
        device = _get(self._devices, device_id, Device)
        if device is None:
            return None
        return {"token_id": device.token_id, "zone_id": str(device.zone_id),
                "client_id": str(device.client_id), "deleted": device.is_deleted}


def _affected(event: Any) -> tuple[str, UUID] | None:
    for kind, classes in (("user", USER_EVENTS), ("session", SESSION_EVENTS),
                          ("device", DEVICE_EVENTS)):
        if isinstance(event, classes):
            return kind, event.originator_id
    return None


def _get(app: Application[UUID], agg_id: UUID, cls: type[Any]) -> Any:
    try:
        agg: Any = app.repository.get(agg_id)
    except AggregateNotFoundError:
        return None
    return agg if isinstance(agg, cls) else None


def _user_key(user_id: UUID) -> str:
    return f"u:{user_id}"


def _session_key(session_id: UUID) -> str:
    return f"s:{session_id}"


def _device_key(device_id: UUID) -> str:
    return f"d:{device_id}"
