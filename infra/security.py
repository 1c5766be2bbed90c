"""Password hashing (argon2 via pwdlib) and JWTs (PyJWT)."""

from __future__ import annotations

import uuid
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


class TokenService:
    """Mints and checks access (1 h) and refresh (7 d) tokens."""

    algorithm = "HS256"

    def __init__(self, secret: str, access_ttl: timedelta, refresh_ttl: timedelta) -> None:
        self._secret = secret
        self.access_ttl = access_ttl
        self.refresh_ttl = refresh_ttl

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
        claims = self._decode(token, "access")
        try:
            return AccessClaims(
                user_id=UUID(claims["sub"]),
                client_id=UUID(claims["cid"]) if claims.get("cid") else None,
                role=str(claims["role"]),
                session_id=UUID(claims["sid"]),
                credentials_version=int(claims["cv"]) if "cv" in claims else None,
            )
        except (KeyError, ValueError, TypeError):
            raise InvalidToken("token is malformed") from None

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
            return DeviceClaims(
                device_id=UUID(claims["sub"]), zone_id=UUID(claims["zone"]),
                client_id=UUID(claims["cid"]), token_id=str(claims["jti"]),
            )
        except (KeyError, ValueError, TypeError):
            raise InvalidToken("device token is malformed") from None

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
