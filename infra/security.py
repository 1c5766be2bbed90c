"""Password hashing (argon2 via pwdlib) and JWTs (PyJWT)."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import jwt
from pwdlib import PasswordHash

from application.sessions import AccessClaims, DeviceClaims, RefreshClaims
from domain.accounts import InvalidToken
from domain.user import User


class Argon2Hasher:
    def __init__(self) -> None:
        self._hash = PasswordHash.recommended()

    def hash(self, password: str) -> str:
        return self._hash.hash(password)

    def verify(self, password: str, password_hash: str) -> bool:
        try:
            return bool(self._hash.verify(password, password_hash))
        except Exception:  # a malformed stored hash never authenticates
            return False


NEVER = float("inf")


class TokenService:
    """Mints and checks access (1 h) and refresh (7 d) tokens, and device tokens.

    An access or device token whose signature checked out is remembered (up to
    `remembered` tokens, until its `exp`): the same token on the next request is
    not verified and parsed again. Whether its session or device still stands is
    not part of this: SessionGuard checks that on every request.
    """

    algorithm = "HS256"

    def __init__(self, secret: str, access_ttl: timedelta, refresh_ttl: timedelta, *,
                 remembered: int = 10_000, clock: Callable[[], float] = time.time) -> None:
        self._secret = secret
        self.access_ttl = access_ttl
        self.refresh_ttl = refresh_ttl
        self._remembered, self._clock = remembered, clock
        self._checked: dict[str, tuple[str, Any, float]] = {}  # token: (type, claims, exp)

    def pair(self, user: User, session_id: UUID, token_id: str) -> dict[str, str]:
        now = datetime.now(UTC)
        access = {
            "type": "access", "sub": str(user.id), "role": user.role.value,
            "cid": str(user.client_id) if user.client_id else None,
            "sid": str(session_id), "cv": user.credentials_version, "jti": uuid.uuid4().hex,
            "iat": now, "exp": now + self.access_ttl,
        }
        refresh = {
            "type": "refresh", "sub": str(user.id), "sid": str(session_id),
            "jti": token_id, "cv": user.credentials_version,
            "iat": now, "exp": now + self.refresh_ttl,
        }
        return {"access": self._encode(access), "refresh": self._encode(refresh)}

    def access(self, token: str) -> AccessClaims:
        known = self._known(token, "access")
        if known is not None:
            return known  # type: ignore[no-any-return]
        claims = self._decode(token, "access")
        try:
            access = AccessClaims(
                user_id=UUID(claims["sub"]),
                client_id=UUID(claims["cid"]) if claims.get("cid") else None,
                role=str(claims["role"]),
                session_id=UUID(claims["sid"]),
                credentials_version=int(claims["cv"]) if "cv" in claims else None,
            )
        except (KeyError, ValueError, TypeError):
            raise InvalidToken("token is malformed") from None
        self._remember(token, "access", access, float(claims["exp"]))
        return access

    def refresh(self, token: str) -> RefreshClaims:
        claims = self._decode(token, "refresh")
        try:
            return RefreshClaims(
                user_id=UUID(claims["sub"]),
                session_id=UUID(claims["sid"]),
                token_id=str(claims["jti"]),
                credentials_version=int(claims["cv"]),
            )
        except (KeyError, ValueError, TypeError):
            raise InvalidToken("token is malformed") from None

    def device(self, device_id: UUID, zone_id: UUID, client_id: UUID, token_id: str) -> str:
        """A device token: no expiry, revocable (the device records its current token id)."""
        return self._encode({
            "type": "device", "sub": str(device_id), "zone": str(zone_id),
            "cid": str(client_id), "jti": token_id, "iat": datetime.now(UTC),
        })

    def device_claims(self, token: str) -> DeviceClaims:
        known = self._known(token, "device")
        if known is not None:
            return known  # type: ignore[no-any-return]
        try:
            claims: dict[str, Any] = jwt.decode(
                token, self._secret, algorithms=[self.algorithm],
                options={"require": ["sub", "type", "jti"]},
            )
        except jwt.InvalidTokenError:
            raise InvalidToken("device token is invalid") from None
        if claims.get("type") != "device":
            raise InvalidToken("this is not a valid device token")
        try:
            device = DeviceClaims(
                device_id=UUID(claims["sub"]), zone_id=UUID(claims["zone"]),
                client_id=UUID(claims["cid"]), token_id=str(claims["jti"]),
            )
        except (KeyError, ValueError, TypeError):
            raise InvalidToken("device token is malformed") from None
        self._remember(token, "device", device, NEVER)
        return device

    def _known(self, token: str, kind: str) -> Any:
        """The claims of a token checked before and not expired since, or None;
        InvalidToken if it was checked as a token of another type."""
        entry = self._checked.get(token)
        if entry is None:
            return None
        checked_as, claims, expires = entry
        if self._clock() >= expires:
            self._checked.pop(token, None)
            return None  # decoding it again says how it expired
        if checked_as != kind:
            raise InvalidToken(f"this is not a valid {kind} token")
        return claims

    def _remember(self, token: str, kind: str, claims: Any, expires: float) -> None:
        while len(self._checked) >= self._remembered:
            try:  # the oldest first (dicts keep insertion order)
                del self._checked[next(iter(self._checked))]
            except (KeyError, RuntimeError, StopIteration):
                break  # another thread got there first
        self._checked[token] = (kind, claims, expires)

    def _encode(self, claims: dict[str, Any]) -> str:
        return jwt.encode(claims, self._secret, algorithm=self.algorithm)

    def _decode(self, token: str, kind: str) -> dict[str, Any]:
        try:
            claims: dict[str, Any] = jwt.decode(
                token, self._secret, algorithms=[self.algorithm],
                options={"require": ["exp", "sub", "type"]},
            )
        except jwt.ExpiredSignatureError:
            raise InvalidToken(f"{kind} token has expired") from None
        except jwt.InvalidTokenError:
            raise InvalidToken(f"{kind} token is invalid") from None
        if claims.get("type") != kind:
            raise InvalidToken(f"this is not a valid {kind} token")
        return claims
