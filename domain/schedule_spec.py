"""What the schedule engine (domain/schedule_engine.py) reads and decides.

A `ScheduleSpec` is a schedule as the engine needs it (built from its stored
rule), `ZoneFacts` what it needs of a zone, and a `Decision` what a schedule
decided for a zone at a slot. Slots are named by strings (`is_newer` orders
them): a zone records the last slot decided per schedule.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from functools import cached_property
from typing import Any
from uuid import UUID

DAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


@dataclass(frozen=True)
class ScheduleSpec:
    """What the engine needs of a schedule (built from its stored rule)."""

    id: UUID
    name: str
    kind: str  # music | announcement
    mode: str  # timeline | interval
    priority: int = 0
    start: time | None = None
    end: time | None = None
    days: frozenset[int] = frozenset()
    date_from: date | None = None
    date_to: date | None = None
    every_minutes: int | None = None
    every_tracks: int | None = None
    folder_ids: tuple[UUID, ...] = ()
    shuffle: bool = False
    announcement_id: UUID | None = None
    zone_ids: frozenset[UUID] = frozenset()
    active_since: datetime = datetime(2000, 1, 1, tzinfo=UTC)

    @classmethod
    def from_rule(cls, schedule_id: UUID, rule: Mapping[str, Any],
                  active_since: datetime) -> ScheduleSpec:
        def t(v: str | None) -> time | None:
            return time.fromisoformat(v) if v else None

        def d(v: str | None) -> date | None:
            return date.fromisoformat(v) if v else None

        by_tracks = rule.get("interval_type") == "tracks"
        return cls(
            id=schedule_id, name=rule["name"], kind=rule["type"], mode=rule["mode"],
            priority=rule["priority"], start=t(rule["start_time"]), end=t(rule["end_time"]),
            days=frozenset(rule["days_of_week"]), date_from=d(rule["date_from"]),
            date_to=d(rule["date_to"]),
            every_minutes=None if by_tracks else rule.get("interval_minutes"),
            every_tracks=rule.get("interval_tracks") if by_tracks else None,
            folder_ids=tuple(UUID(f) for f in rule["folder_ids"]), shuffle=rule["shuffle"],
            announcement_id=UUID(rule["announcement_id"]) if rule["announcement_id"] else None,
            zone_ids=frozenset(UUID(z) for z in rule["zone_ids"]), active_since=active_since,
        )

    @cached_property
    def key(self) -> str:
        return str(self.id)

    @cached_property
    def rank(self) -> tuple[int, str, str]:
        """Higher priority first, then by name, then id: never a coin toss."""
        return (-self.priority, self.name, self.key)

    def describe(self) -> str:
        days = ",".join(DAY_NAMES[d] for d in sorted(self.days)) or "every day"
        window = f"{self.start:%H:%M}–{self.end:%H:%M}" if self.start and self.end else (
            f"at {self.start:%H:%M}" if self.start else "all day")
        if self.every_tracks:
            what = f"after every {self.every_tracks} tracks, {window}"
        elif self.every_minutes and self.mode == "interval":
            what = f"every {self.every_minutes} min, {window}"
        else:
            what = f"{self.kind} {window}"
        return f"{self.name!r}: {what}, {days}, priority {self.priority}"


@dataclass(frozen=True)
class ZoneFacts:
    """What the engine needs of a zone."""

    zone_id: UUID
    timezone: str = "UTC"
    music_key: str | None = None  # the music window playing now (or fallback@...)
    manual_at: datetime | None = None  # a user's last manual play
    marks: Mapping[str, str] = field(default_factory=dict)  # schedule id -> last slot
    tracks_played: int = 0


@dataclass(frozen=True)
class Decision:
    """What a schedule decided for a zone at a slot, and the rule that made it."""

    schedule_id: UUID | None
    action: str  # music | fallback | announce | missed | counted
    slot: str
    at: datetime
    rule: str
    detail: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {"schedule_id": str(self.schedule_id) if self.schedule_id else None,
                "action": self.action, "slot": self.slot, "at": self.at.isoformat(),
                "rule": self.rule, "detail": self.detail}


def is_newer(slot: str, mark: str | None) -> bool:
    """Whether `slot` comes after the last decided slot `mark` of a schedule."""
    if mark is None:
        return True
    if "|" in slot and "|" in mark:  # track counts: "<window opening>|<count>"
        window, count = slot.split("|")
        mark_window, mark_count = mark.split("|")
        return window > mark_window or (window == mark_window and int(count) > int(mark_count))
    return slot > mark  # instants, all UTC ISO strings of one format
