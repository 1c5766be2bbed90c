"""What a device needs to play on without the server (issue 17): the zone's tracks
due in the next span of time, with the server-clock time each starts, and the timed
announcements its schedules fire meanwhile. Pure: `now` and the data come in."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from domain.base import NotFound
from domain.playback import AnnouncementItem, AnnouncementNotReady
from domain.schedule_engine import ScheduleSpec, announcement_slots

HORIZON = timedelta(hours=1)
MAX_ITEMS = 1000  # an hour of very short items at most
Row = dict[str, Any]


def upcoming_tracks(state: Mapping[str, Any], queue: Sequence[Mapping[str, Any]],
                    now: datetime, span: timedelta = HORIZON) -> list[Row]:
    """The current track and those after it, in queue order, each with `starts_at`,
    until `now + span` is covered. A shuffled queue stops at its end (the next round is
    reshuffled when it starts); a paused or stopped zone has none."""
    current = state.get("current")
    if not state.get("music_playing") or current is None or not state.get("ends_at"):
        return []
    ends_at = datetime.fromisoformat(state["ends_at"])
    items = [{**current, "starts_at": ends_at - timedelta(milliseconds=current["duration_ms"]),
              "queue_position": state["queue_position"]}]
    position, t = state["queue_position"], ends_at
    for step in range(1, MAX_ITEMS):
        if t >= now + span or (state.get("shuffle") and position + step >= len(queue)):
            break
        index = (position + step) % len(queue)
        item = queue[index]
        if item.get("removed") or item["duration_ms"] <= 0:
            continue
        items.append({**{k: v for k, v in item.items() if k != "removed"},
                      "starts_at": t, "queue_position": index})
        t += timedelta(milliseconds=item["duration_ms"])
    return items


def upcoming_announcements(specs: Sequence[ScheduleSpec], zone_id: UUID, timezone: str,
                           now: datetime, announcement: Callable[[UUID], AnnouncementItem],
                           span: timedelta = HORIZON) -> list[Row]:
    """The timed announcement slots of the zone in (now, now + span], each with its
    item; an announcement deleted or not ready yet is left out."""
    out = []
    for at, spec in announcement_slots(specs, zone_id, timezone, now, now + span):
        assert spec.announcement_id is not None
        try:
            item = announcement(spec.announcement_id)
        except (NotFound, AnnouncementNotReady):
            continue
        out.append({**item.as_dict(), "schedule_id": str(spec.id), "at": at,
                    "slot": f"{spec.id}@{at.isoformat()}"})
    return out
