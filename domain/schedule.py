"""The Schedule aggregate: when a zone plays which music or announcement.

Its rule (what, where, when) is checked by domain/schedule_rule.py; the schedule
engine (domain/schedule_engine.py) evaluates it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import event

from domain.base import TracedAggregate, stamped_user
from domain.lifecycle import Deletable
from domain.roster import Roster

# The rule moved to domain/schedule_rule.py; importers still find these names here.
from domain.schedule_rule import MAX_PRIORITY as MAX_PRIORITY
from domain.schedule_rule import InvalidSchedule as InvalidSchedule
from domain.schedule_rule import SchedulingError as SchedulingError
from domain.schedule_rule import check_content_type as check_content_type
from domain.schedule_rule import check_rule
from domain.schedule_rule import content_type_of as content_type_of


class Schedule(Deletable, TracedAggregate):
    # 2: who created the schedule (`created_by`)
    class_version = 2

    @staticmethod
    def upcast_v1_v2(state: dict[str, Any]) -> None:
        state["created_by"] = None  # a snapshot does not hold it (schedules take none)

    class Created(TracedAggregate.Created):
        # 2: created_by
        class_version = 2
        client_id: UUID
        rule: dict[str, Any]
        is_active: bool
        at: datetime
        created_by: UUID | None

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            state["created_by"] = stamped_user(state)

    @event(Created)
    def __init__(self, client_id: UUID, rule: dict[str, Any], is_active: bool,
                 at: datetime, created_by: UUID | None) -> None:
        self.client_id, self.rule, self.is_active = client_id, rule, is_active
        self.active_since = at
        self.created_by = created_by
        self.is_deleted = False

    @classmethod
    def create(cls, *, client_id: UUID, rule: dict[str, Any], is_active: bool,
               now: datetime, created_by: UUID | None = None) -> Schedule:
        return cls(client_id=client_id, rule=check_rule(rule), is_active=is_active, at=now,
                   created_by=created_by)

    class RuleChanged(TracedAggregate.Event):
        rule: dict[str, Any]

    def change(self, **changes: Any) -> None:
        """Change any part of the rule; the whole new rule must hold together."""
        self._check_alive()
        rule = check_rule({**self.rule, **changes})
        if rule != self.rule:
            self._rule_changed(rule=rule)

    @event(RuleChanged)
    def _rule_changed(self, rule: dict[str, Any]) -> None:
        self.rule = rule

    class Toggled(TracedAggregate.Event):
        is_active: bool
        at: datetime

    def set_active(self, is_active: bool, now: datetime) -> None:
        """Enabling counts from now on: slots that passed while disabled never fire."""
        self._check_alive()
        if is_active != self.is_active:
            self._toggled(is_active=is_active, at=now)

    @event(Toggled)
    def _toggled(self, is_active: bool, at: datetime) -> None:
        self.is_active = is_active
        if is_active:
            self.active_since = at

    class Deleted(TracedAggregate.Event):
        pass

    _deleted = event(Deleted)(Deletable._deleted)  # delete() (domain/lifecycle.py)

    def _let_go(self) -> None:
        self.is_active = False


def schedule_roster_id(client_id: UUID) -> UUID:
    return uuid5(NAMESPACE_URL, f"sync2gear:schedule-roster:{client_id}")


class ScheduleRoster(Roster):
    """The schedules a client has (one stream per client): never more than
    `max_schedules`."""

    limit_name = "max_schedules"

    @staticmethod
    def create_id(client_id: UUID) -> UUID:
        return schedule_roster_id(client_id)

    class Opened(Roster.Opened):
        pass

    class Added(Roster.Added):
        pass

    class Removed(Roster.Removed):
        pass
