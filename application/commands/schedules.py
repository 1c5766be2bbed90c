"""Schedules: what plays where and when (created by a client's users, changed by
them and by admins)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from application.dispatch import Command, Handler
from application.rules import CLIENT_MEMBER, TENANT_WRITE, Grant
from application.scheduling import Result, SchedulingApplication
from domain.base import CommandContext


@dataclass(frozen=True)
class CreateSchedule(Command[Result]):
    """A schedule of the caller's own client; `rule` as the domain stores it (ids
    and times as strings)."""

    rule = CLIENT_MEMBER
    spec: dict[str, Any] = field(default_factory=dict)
    is_active: bool = True


@dataclass(frozen=True)
class ScheduleCommand(Command[Result]):
    rule, target_kind = TENANT_WRITE, "schedule"
    schedule_id: UUID


@dataclass(frozen=True)
class ChangeSchedule(ScheduleCommand):
    """Change the rule (only the fields given) and/or enable or disable, in one."""

    changes: dict[str, Any] = field(default_factory=dict)
    is_active: bool | None = None


@dataclass(frozen=True)
class ToggleSchedule(ScheduleCommand):
    """Enable or disable; flip when `is_active` is None."""

    is_active: bool | None = None


@dataclass(frozen=True)
class DeleteSchedule(ScheduleCommand):
    pass


def handlers(scheduling: SchedulingApplication,
             limit: Callable[[UUID, str], int]) -> list[tuple[type[Any], Handler]]:
    """`limit(client, limit name)`: the client's limit in force (`Plans.limit`)."""

    def create(c: CreateSchedule, g: Grant, ctx: CommandContext) -> Result:
        assert g.scope is not None  # CLIENT_MEMBER: the caller's client
        return scheduling.create_schedule(ctx, g.scope, c.spec, c.is_active,
                                          max_schedules=limit(g.scope, "max_schedules"))

    def change(c: ChangeSchedule, g: Grant, ctx: CommandContext) -> Result:
        return scheduling.change_schedule(ctx, g.scope, c.schedule_id, is_active=c.is_active,
                                          **c.changes)

    return [
        (CreateSchedule, create),
        (ChangeSchedule, change),
        (ToggleSchedule, lambda c, g, ctx: scheduling.toggle(ctx, g.scope, c.schedule_id,
                                                             c.is_active)),
        (DeleteSchedule, lambda c, g, ctx: scheduling.delete_schedule(ctx, g.scope,
                                                                      c.schedule_id)),
    ]
