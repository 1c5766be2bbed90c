"""Unique natural keys enforced by the event store itself.

An index aggregate's id derives from the key, so two commands claiming the
same key both try to write version 1 (or the same next version) of the same
stream and the store lets exactly one of them win. No read model is
consulted, so nothing races.
"""

from __future__ import annotations

from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import event

from domain.base import TracedAggregate


class KeyIndex(TracedAggregate):
    """Maps one natural key (e.g. `email:ann@example.com`) to its owner."""

    class Claimed(TracedAggregate.Created):
        key: str
        owner_id: UUID

    @staticmethod
    def create_id(key: str) -> UUID:
        return index_id(key)

    @event(Claimed)
    def __init__(self, key: str, owner_id: UUID) -> None:
        self.key = key
        self.owner_id: UUID | None = owner_id

    class Released(TracedAggregate.Event):
        pass

    def release(self) -> None:
        """Free the key (its owner is gone) so that it can be claimed again."""
        if self.owner_id is not None:
            self._released()

    @event(Released)
    def _released(self) -> None:
        self.owner_id = None

    class Reclaimed(TracedAggregate.Event):
        owner_id: UUID

    def reclaim(self, owner_id: UUID) -> None:
        if self.owner_id is not None:
            raise ValueError(f"key {self.key} is still owned by {self.owner_id}")
        self._reclaimed(owner_id=owner_id)

    @event(Reclaimed)
    def _reclaimed(self, owner_id: UUID) -> None:
        self.owner_id = owner_id


def index_id(key: str) -> UUID:
    return uuid5(NAMESPACE_URL, f"sync2gear:index:{key}")


def email_key(normalised_email: str) -> str:
    return f"email:{normalised_email}"


def content_key(client_id: UUID, kind: str, sha256: str) -> str:
    return f"content:{client_id}:{kind}:{sha256}"
