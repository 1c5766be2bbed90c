"""The Session aggregate: one refresh-token family, rotated on every use.

Each refresh hands out a new token id. Presenting an id that was already
rotated away means the token leaked: the whole family is revoked.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from uuid import UUID

from eventsourcing.domain import event

from domain.accounts import InvalidToken, RefreshTokenReused
from domain.base import TracedAggregate


class Session(TracedAggregate):
    class Started(TracedAggregate.Created):
        user_id: UUID
        token_id: str

    @event(Started)
    def __init__(self, user_id: UUID, token_id: str) -> None:
        self.user_id = user_id
        self.token_id = token_id
        self.revoked_reason: str | None = None

    @property
    def is_revoked(self) -> bool:
        return self.revoked_reason is not None

    class Rotated(TracedAggregate.Event):
        token_id: str

    def rotate(self, presented_token_id: str, new_token_id: str) -> None:
        """Swap the current token for a new one, or catch a replayed token."""
        if self.is_revoked:
            raise InvalidToken("this session has ended; log in again")
        if presented_token_id != self.token_id:
            raise RefreshTokenReused("refresh token reused; every session of it is revoked")
        self._rotated(token_id=new_token_id)

    @event(Rotated)
    def _rotated(self, token_id: str) -> None:
        self.token_id = token_id

    class Revoked(TracedAggregate.Event):
        reason: str

    def revoke(self, reason: str) -> None:
        if not self.is_revoked:
            self._revoked(reason=reason)

    def expire(self, now: datetime, lifetime: timedelta) -> bool:
        """End the session once its newest refresh token (issued with the last event
        before any revocation) has outlived `lifetime`; whether it ended now."""
        if self.is_revoked or now < self.modified_on + lifetime:
            return False
        self._revoked(reason=EXPIRED)
        return True

    @event(Revoked)
    def _revoked(self, reason: str) -> None:
        self.revoked_reason = reason


# The reason of a Revoked event recorded when a session outlived its refresh token.
EXPIRED = "expired"
