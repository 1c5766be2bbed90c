"""The StorageQuota aggregate: bytes a client stores, never over its limit.

All uploads of one client reserve through this one stream, so optimistic
concurrency serialises them: two uploads racing for the last free bytes
cannot both win.
"""

from __future__ import annotations

from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import event

from domain.base import TracedAggregate
from domain.library import StorageQuotaExceeded

GB = 1024**3


def quota_id(client_id: UUID) -> UUID:
    return uuid5(NAMESPACE_URL, f"sync2gear:quota:{client_id}")


class StorageQuota(TracedAggregate):
    class Opened(TracedAggregate.Created):
        client_id: UUID

    @staticmethod
    def create_id(client_id: UUID) -> UUID:
        return quota_id(client_id)

    @event(Opened)
    def __init__(self, client_id: UUID) -> None:
        self.client_id = client_id
        self.used_bytes = 0

    class Reserved(TracedAggregate.Event):
        owner_id: UUID
        nbytes: int

    def reserve(self, owner_id: UUID, nbytes: int, limit_bytes: int) -> None:
        if nbytes < 0:
            raise ValueError("cannot reserve a negative size")
        if self.used_bytes + nbytes > limit_bytes:
            free = max(0, limit_bytes - self.used_bytes)
            raise StorageQuotaExceeded(
                f"storage quota exceeded: {_mb(nbytes)} needed, {_mb(free)} free "
                f"of {_mb(limit_bytes)}"
            )
        self._reserved(owner_id=owner_id, nbytes=nbytes)

    @event(Reserved)
    def _reserved(self, owner_id: UUID, nbytes: int) -> None:
        self.used_bytes += nbytes

    class Released(TracedAggregate.Event):
        owner_id: UUID
        nbytes: int

    def release(self, owner_id: UUID, nbytes: int) -> None:
        self._released(owner_id=owner_id, nbytes=min(nbytes, self.used_bytes))

    @event(Released)
    def _released(self, owner_id: UUID, nbytes: int) -> None:
        self.used_bytes -= nbytes


def _mb(nbytes: int) -> str:
    return f"{nbytes / 1024**2:.1f} MB"
