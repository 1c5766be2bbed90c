"""Rosters: what a client has of one thing its plan limits (zones, schedules).

A roster is one stream per client, saved in the same transaction as the zone or
schedule it admits: two creations racing for the last slot load the same
version, and optimistic concurrency lets only one of them win. The limit is
checked against the roster, never against a read model, so a command does not
depend on a view being current (or reachable).

`Roster` is the one generic base: each kind subclasses it (`ZoneRoster`,
`ScheduleRoster`) with its own id namespace, limit name and nested events, so
each kind's stored topics are its own (`domain.zone:ZoneRoster.Added`). The
events carry their mutation in `apply` rather than through `@event` mutators:
a mutator decorated here would bind to this base's event classes and store
their topics for every kind. (`DeviceRoster` in `domain/device.py` is the same
idea, older than this base; its stored topics stay as they are.)
"""

from __future__ import annotations

from abc import abstractmethod
from typing import Any
from uuid import UUID

from eventsourcing.domain import event

from domain.base import TracedAggregate
from domain.plan import check_room


class Roster(TracedAggregate):
    """The members (ids) a client has of one kind: never more than its limit."""

    # The plan limit it keeps (`max_zones`), for messages. Set, not annotated: an
    # annotation would make the library treat the class as a dataclass.
    limit_name = ""

    @staticmethod
    @abstractmethod
    def create_id(client_id: UUID) -> UUID:
        """One roster per client and kind."""

    class Opened(TracedAggregate.Created):
        client_id: UUID
        member_ids: list[UUID]  # what the client had before its roster (application)

    @event(Opened)
    def __init__(self, client_id: UUID, member_ids: list[UUID]) -> None:
        self.client_id = client_id
        self.member_ids: set[UUID] = set(member_ids)

    class Added(TracedAggregate.Event):
        member_id: UUID

        def apply(self, aggregate: Any) -> None:
            aggregate.member_ids.add(self.member_id)

    def add(self, member_id: UUID, limit: int | None) -> bool:
        """Admit one more (PlanLimitReached when the limit is reached; None: no
        limit); False when it is a member already."""
        if member_id in self.member_ids:
            return False
        if limit is not None:
            check_room(self.limit_name, len(self.member_ids), limit)
        self.trigger_event(self.Added, member_id=member_id)
        return True

    class Removed(TracedAggregate.Event):
        member_id: UUID

        def apply(self, aggregate: Any) -> None:
            aggregate.member_ids.discard(self.member_id)

    def remove(self, member_id: UUID) -> bool:
        """Free a member's slot; False when it held none."""
        if member_id not in self.member_ids:
            return False
        self.trigger_event(self.Removed, member_id=member_id)
        return True
