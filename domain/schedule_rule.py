"""A schedule's rule: what it plays, where and when, and what makes one valid.

A rule is a plain dict of JSON values (times as "HH:MM:SS", dates as
"YYYY-MM-DD", ids as strings), checked and normalised by `check_rule`, which
raises `InvalidSchedule` naming the field at fault. The Schedule aggregate
(domain/schedule.py) stores it; the schedule engine reads it through
`ScheduleSpec.from_rule`.
"""

from __future__ import annotations

from datetime import date, time
from enum import StrEnum
from typing import Any
from uuid import UUID

from domain.base import DomainError

MAX_PRIORITY = 1000


class ScheduleKind(StrEnum):
    MUSIC = "music"
    ANNOUNCEMENT = "announcement"


class ScheduleMode(StrEnum):
    TIMELINE = "timeline"
    INTERVAL = "interval"


class IntervalType(StrEnum):
    TIME = "time"
    TRACKS = "tracks"


# The seed's `content_type`: what a schedule plays. Here it follows from `type`
# (music plays folders, an announcement schedule one announcement), so it is
# derived, never stored.
CONTENT_TYPES = {ScheduleKind.MUSIC: "folder", ScheduleKind.ANNOUNCEMENT: "announcement"}


class SchedulingError(DomainError):
    """Base of the scheduling rules."""


class InvalidSchedule(SchedulingError):
    """The schedule's rule is incomplete or contradicts itself."""


RULE_FIELDS = (
    "name", "type", "mode", "folder_ids", "shuffle", "announcement_id", "start_time",
    "end_time", "interval_type", "interval_minutes", "interval_tracks", "days_of_week",
    "date_from", "date_to", "zone_ids", "priority",
)
DEFAULTS: dict[str, Any] = {
    "mode": "timeline", "folder_ids": [], "shuffle": False, "announcement_id": None,
    "start_time": None, "end_time": None, "interval_type": None, "interval_minutes": None,
    "interval_tracks": None, "days_of_week": [], "date_from": None, "date_to": None,
    "zone_ids": [], "priority": 0,
}


def _enum(enum: type[StrEnum], value: Any, field: str) -> str:
    try:
        return enum(value).value
    except ValueError:
        choices = ", ".join(m.value for m in enum)
        raise InvalidSchedule(f"{field} must be one of: {choices}", field) from None


def _time(value: Any, field: str) -> str | None:
    if value is None:
        return None
    try:
        parsed = value if isinstance(value, time) else time.fromisoformat(str(value))
    except ValueError:
        raise InvalidSchedule(f"{field} must be a time like 08:30", field) from None
    return parsed.replace(microsecond=0, tzinfo=None).isoformat()


def _date(value: Any, field: str) -> str | None:
    if value is None:
        return None
    try:
        return (value if isinstance(value, date) else date.fromisoformat(str(value))).isoformat()
    except ValueError:
        raise InvalidSchedule(f"{field} must be a date like 2026-12-24", field) from None


def _ids(values: Any, field: str) -> list[str]:
    try:
        return list(dict.fromkeys(str(UUID(str(v))) for v in values or []))
    except ValueError:
        raise InvalidSchedule(f"{field} must be a list of ids", field) from None


def _one_id(value: Any, field: str) -> str | None:
    return _ids([value], field)[0] if value else None


def _count(value: Any, field: str, low: int, high: int) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise InvalidSchedule(f"{field} must be a whole number from {low} to {high}", field)
    return value


def check_rule(rule: dict[str, Any]) -> dict[str, Any]:
    """The rule, complete and normalised; raises InvalidSchedule naming the field."""
    unknown = set(rule) - set(RULE_FIELDS)
    if unknown:
        raise InvalidSchedule(f"unknown schedule fields: {sorted(unknown)}")
    r = {**DEFAULTS, **rule}
    name = str(r.get("name") or "").strip()
    if not name or len(name) > 255:
        raise InvalidSchedule("a schedule needs a name (at most 255 characters)", "name")
    days = r["days_of_week"] or []
    if any(isinstance(d, bool) or not isinstance(d, int) or not 0 <= d <= 6 for d in days):
        raise InvalidSchedule("days_of_week are numbers 0 (Monday) to 6 (Sunday)",
                              "days_of_week")
    out = {
        "name": name, "type": _enum(ScheduleKind, r.get("type"), "type"),
        "mode": _enum(ScheduleMode, r["mode"], "mode"),
        "folder_ids": _ids(r["folder_ids"], "folder_ids"), "shuffle": bool(r["shuffle"]),
        "announcement_id": _one_id(r["announcement_id"], "announcement_id"),
        "start_time": _time(r["start_time"], "start_time"),
        "end_time": _time(r["end_time"], "end_time"),
        "interval_type": None if r["interval_type"] is None
        else _enum(IntervalType, r["interval_type"], "interval_type"),
        "interval_minutes": _count(r["interval_minutes"], "interval_minutes", 1, 1440),
        "interval_tracks": _count(r["interval_tracks"], "interval_tracks", 1, 1000),
        "days_of_week": sorted(set(days)),
        "date_from": _date(r["date_from"], "date_from"), "date_to": _date(r["date_to"], "date_to"),
        "zone_ids": _ids(r["zone_ids"], "zone_ids"),
        "priority": _count(r["priority"], "priority", -MAX_PRIORITY, MAX_PRIORITY),
    }
    if out["priority"] is None:
        raise InvalidSchedule("priority must be a whole number", "priority")
    _check_consistent(out)
    return out


def content_type_of(kind: str) -> str:
    """The seed's `content_type` of a schedule of this `type`."""
    return CONTENT_TYPES[ScheduleKind(kind)]


def check_content_type(kind: Any, content_type: str | None) -> None:
    """A `content_type` sent with a schedule must be the one its `type` plays."""
    if content_type is None:
        return
    expected = content_type_of(_enum(ScheduleKind, kind, "type"))
    if content_type != expected:
        raise InvalidSchedule(
            f"a {kind} schedule plays content_type {expected!r}, not {content_type!r}",
            "content_type")


def _check_consistent(r: dict[str, Any]) -> None:
    if not r["zone_ids"]:
        raise InvalidSchedule("a schedule needs at least one zone", "zone_ids")
    if r["date_from"] and r["date_to"] and r["date_from"] > r["date_to"]:
        raise InvalidSchedule("date_from must not be after date_to", "date_to")
    if (r["start_time"] is None) != (r["end_time"] is None) and not (
            r["type"] == "announcement" and r["mode"] == "timeline" and r["start_time"]):
        raise InvalidSchedule("give both start_time and end_time, or neither", "end_time")
    if r["start_time"] is not None and r["start_time"] == r["end_time"]:
        raise InvalidSchedule("start_time and end_time must differ", "end_time")
    if r["type"] == "music":
        _check_music(r)
    else:
        _check_announcement(r)


def _check_music(r: dict[str, Any]) -> None:
    if not r["folder_ids"]:
        raise InvalidSchedule("a music schedule plays at least one folder", "folder_ids")
    if r["announcement_id"]:
        raise InvalidSchedule("a music schedule plays folders, not an announcement",
                              "announcement_id")
    if r["mode"] != "timeline" or r["start_time"] is None:
        raise InvalidSchedule("a music schedule is a timeline window: give start_time and "
                              "end_time", "start_time")


def _check_announcement(r: dict[str, Any]) -> None:
    if not r["announcement_id"]:
        raise InvalidSchedule("an announcement schedule needs announcement_id",
                              "announcement_id")
    if r["folder_ids"]:
        raise InvalidSchedule("an announcement schedule plays one announcement, not folders",
                              "folder_ids")
    if r["mode"] == "timeline":
        if r["start_time"] is None:
            raise InvalidSchedule("a timeline announcement plays at start_time", "start_time")
        return
    if r["interval_type"] is None:
        raise InvalidSchedule("an interval schedule needs interval_type (time or tracks)",
                              "interval_type")
    if r["interval_type"] == "time" and r["interval_minutes"] is None:
        raise InvalidSchedule("give interval_minutes for an every-N-minutes schedule",
                              "interval_minutes")
    if r["interval_type"] == "tracks" and r["interval_tracks"] is None:
        raise InvalidSchedule("give interval_tracks for an after-N-tracks schedule",
                              "interval_tracks")
