"""The schedules read model: lists for the dashboard, active schedules for the scheduler.

Every Schedule event carries what its row needs (the whole rule travels with
each change), so rows are written from the events alone.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any
from uuid import UUID

from eventsourcing.dispatch import singledispatchmethod
from eventsourcing.persistence import Tracking, TrackingRecorder
from eventsourcing.projection import Projection

from domain.schedule import Schedule
from domain.schedule_engine import ScheduleSpec
from projections.accounts import Page

Row = dict[str, Any]


class SchedulesView(TrackingRecorder, ABC):
    @abstractmethod
    def put_schedule(self, row: Row, tracking: Tracking) -> None: ...

    @abstractmethod
    def change_schedule(self, schedule_id: UUID, changes: Row, tracking: Tracking) -> None: ...

    @abstractmethod
    def delete_schedule(self, schedule_id: UUID, tracking: Tracking) -> None: ...

    @abstractmethod
    def get_schedule(self, schedule_id: UUID) -> Row | None: ...

    @abstractmethod
    def list_schedules(self, *, client_id: UUID | None, zone_id: UUID | None,
                       type: str | None, is_active: bool | None,  # noqa: A002
                       offset: int, limit: int) -> Page:
        """Highest priority first, then by name (the seed's ordering)."""

    @abstractmethod
    def active_schedules(self) -> list[Row]: ...

    @abstractmethod
    def schedules_of_client(self, client_id: UUID) -> list[UUID]: ...


def rule_columns(rule: dict[str, Any]) -> Row:
    return {"name": rule["name"], "type": rule["type"], "priority": rule["priority"],
            "zone_ids": [UUID(z) for z in rule["zone_ids"]], "rule": rule}


def schedule_row(schedule: Schedule) -> Row:
    """A schedule aggregate in the shape of its row (a command's answer)."""
    return {"id": schedule.id, "client_id": schedule.client_id,
            **rule_columns(schedule.rule), "is_active": schedule.is_active,
            "active_since": schedule.active_since, "created_by": schedule.created_by,
            "created_at": schedule.created_on, "updated_at": schedule.modified_on}


def spec_of_row(row: Row) -> ScheduleSpec:
    return ScheduleSpec.from_rule(row["id"], row["rule"], row["active_since"])


class SchedulesProjection(Projection[SchedulesView]):
    name = "schedules_view"

    @singledispatchmethod
    def process_event(self, domain_event: Any, tracking: Tracking) -> None:
        self.view.insert_tracking(tracking)

    @process_event.register
    def _(self, e: Schedule.Created, tracking: Tracking) -> None:
        self.view.put_schedule({
            "id": e.originator_id, "client_id": e.client_id, **rule_columns(e.rule),
            "is_active": e.is_active, "active_since": e.at, "created_by": e.created_by,
            "created_at": e.timestamp, "updated_at": e.timestamp}, tracking)

    @process_event.register
    def _(self, e: Schedule.RuleChanged, tracking: Tracking) -> None:
        self.view.change_schedule(e.originator_id, {**rule_columns(e.rule),
                                                    "updated_at": e.timestamp}, tracking)

    @process_event.register
    def _(self, e: Schedule.Toggled, tracking: Tracking) -> None:
        changes: Row = {"is_active": e.is_active, "updated_at": e.timestamp}
        if e.is_active:
            changes["active_since"] = e.at
        self.view.change_schedule(e.originator_id, changes, tracking)

    @process_event.register
    def _(self, e: Schedule.Deleted, tracking: Tracking) -> None:
        self.view.delete_schedule(e.originator_id, tracking)
