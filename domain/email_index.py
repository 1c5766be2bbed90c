"""Unique natural keys enforced by the event store itself.

An index aggregate's id derives from the key, so two commands claiming the
same key both try to write version 1 of the same stream and the store lets
exactly one of them win. No read model is consulted, so nothing races.
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
        self.owner_id = owner_id


def index_id(key: str) -> UUID:
    return uuid5(NAMESPACE_URL, f"sync2gear:index:{key}")


def email_key(normalised_email: str) -> str:
    return f"email:{normalised_email}"
