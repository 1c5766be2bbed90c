"""The schedule engine: (schedules, a zone's facts, now) -> decisions. Pure.

Times are evaluated in the zone's timezone. A wall-clock time maps to one
instant: the first one when the clocks go back, and the moment of the jump
when the clocks go forward past it, so no slot fires twice and none is lost.

Every decision names its slot; the zone records the last slot decided per
schedule (`marks`), so evaluating again -- late, twice, or in two processes
-- decides nothing new. Music windows are slots too: the zone remembers which
window its music comes from (`music_key`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from uuid import UUID
from zoneinfo import ZoneInfo

# The engine's values are in domain/schedule_spec.py; importers still find them here.
from domain.schedule_spec import Decision as Decision
from domain.schedule_spec import ScheduleSpec as ScheduleSpec
from domain.schedule_spec import ZoneFacts as ZoneFacts
from domain.schedule_spec import is_newer

GRACE = timedelta(minutes=5)  # a slot still fires this long after its time
FALLBACK = "fallback@"
REPEAT_SLACK = timedelta(hours=2)  # the largest clock change in the tz database
MAX_STEPS = 150  # slots to step back over (2 h of 1-minute slots, and then some)


@lru_cache(maxsize=4096)
def _tz(name: str) -> ZoneInfo:
    return ZoneInfo(name)


@lru_cache(maxsize=65536)  # slot instants repeat across zones and ticks
def _iso(instant: datetime) -> str:
    return instant.isoformat()


@lru_cache(maxsize=65536)  # zones share timezones and schedule times
def local_to_utc(day: date, at: time, tz: ZoneInfo) -> datetime:
    """When the wall clock in `tz` shows `at` on `day`: the first time when it
    shows it twice; the moment of the jump when it skips it."""
    wall = datetime.combine(day, at)
    instant = wall.replace(tzinfo=tz).astimezone(UTC)
    if instant.astimezone(tz).replace(tzinfo=None) == wall:
        return instant
    before, after = wall.replace(tzinfo=tz, fold=1).astimezone(UTC), instant
    while after - before > timedelta(seconds=1):
        middle = before + (after - before) / 2
        if middle.astimezone(tz).replace(tzinfo=None) > wall:
            after = middle
        else:
            before = middle
    return after.replace(microsecond=0)


def _runs_on(spec: ScheduleSpec, day: date) -> bool:
    return ((not spec.days or day.weekday() in spec.days)
            and (spec.date_from is None or day >= spec.date_from)
            and (spec.date_to is None or day <= spec.date_to))


def _wall_window(spec: ScheduleSpec, day: date) -> tuple[datetime, datetime]:
    """The window opening on `day`, in wall-clock time (overnight: ends the next day)."""
    opens = datetime.combine(day, spec.start or time(0))
    if spec.end is None:
        return opens, datetime.combine(day + timedelta(days=1), time(0))
    closes = datetime.combine(day, spec.end)
    return opens, closes if closes > opens else closes + timedelta(days=1)


def _window(spec: ScheduleSpec, day: date, tz: ZoneInfo) -> tuple[datetime, datetime] | None:
    if not _runs_on(spec, day):
        return None
    opens, closes = _wall_window(spec, day)
    window = (local_to_utc(opens.date(), opens.time(), tz),
              local_to_utc(closes.date(), closes.time(), tz))
    return window if window[0] < window[1] else None  # wholly inside a skipped hour


@lru_cache(maxsize=4096)
def _days_to(today: date) -> tuple[date, date]:
    """Yesterday and today: the days whose windows can be open now."""
    return today - timedelta(days=1), today


def _open_window(spec: ScheduleSpec, tz: ZoneInfo, now: datetime, days: tuple[date, date]
                 ) -> tuple[datetime, datetime] | None:
    for day in reversed(days):
        window = _window(spec, day, tz)
        if window is not None and window[0] <= now < window[1]:
            return window
    return None


def _latest_slot(spec: ScheduleSpec, tz: ZoneInfo, now: datetime, local_now: datetime,
                 days: tuple[date, date]) -> datetime | None:
    """The last slot at or before `now` (windows opening today or yesterday)."""
    best: datetime | None = None
    for day in days:
        if not _runs_on(spec, day):
            continue
        opens, closes = _wall_window(spec, day)
        if spec.mode == "timeline" or not spec.every_minutes:
            candidates: Iterable[datetime] = [opens]
        else:
            step = timedelta(minutes=spec.every_minutes)
            # In the repeated hour after the clocks go back, later wall times of the
            # first pass are already over: look that far ahead, then step back.
            wall_now = local_now.replace(tzinfo=None) + (REPEAT_SLACK if local_now.fold else
                                                         timedelta(0))
            last = (min(wall_now, closes - timedelta(seconds=1)) - opens) // step
            candidates = (opens + k * step for k in range(last, max(-1, last - MAX_STEPS), -1))
        for wall in candidates:
            instant = local_to_utc(wall.date(), wall.time(), tz)
            if instant <= now:
                best = instant if best is None or instant > best else best
                break
    return best


def _music(specs: Sequence[ScheduleSpec], zone: ZoneFacts, tz: ZoneInfo,
           now: datetime, days: tuple[date, date]) -> list[Decision]:
    open_now: list[tuple[ScheduleSpec, datetime]] = []
    boundaries: list[datetime] = []
    for spec in specs:
        for day in days:
            window = _window(spec, day, tz)
            if window is None:
                continue
            boundaries += [b for b in window if b <= now]
            if window[0] <= now < window[1]:
                open_now.append((spec, window[0]))
    last_boundary = max(boundaries, default=None)
    if zone.manual_at is not None and (last_boundary is None or zone.manual_at >= last_boundary):
        return []  # a user's manual play rules until the next boundary
    if open_now:
        spec, opens = min(open_now, key=lambda pair: pair[0].rank)
        key = f"{spec.key}@{_iso(opens)}"
        if key == zone.music_key:
            return []
        rivals = f" (won over {len(open_now) - 1} other open windows)" if len(open_now) > 1 else ""
        return [Decision(spec.id, "music", key, opens, spec.describe(), rivals.strip())]
    if zone.music_key is None or zone.music_key.startswith(FALLBACK):
        return []
    at = last_boundary or now
    return [Decision(None, "fallback", f"{FALLBACK}{_iso(at)}", at,
                     "no music schedule is open: the zone's fallback plays")]


def _timed(spec: ScheduleSpec, zone: ZoneFacts, tz: ZoneInfo, now: datetime,
           local_now: datetime, days: tuple[date, date], grace: timedelta) -> list[Decision]:
    slot = _latest_slot(spec, tz, now, local_now, days)
    if slot is None or slot < spec.active_since:
        return []
    key = _iso(slot)
    if not is_newer(key, zone.marks.get(spec.key)):
        return []
    if now - slot <= grace:
        return [Decision(spec.id, "announce", key, slot, spec.describe())]
    late = int((now - slot).total_seconds())
    return [Decision(spec.id, "missed", key, slot, spec.describe(),
                     f"first evaluated {late} s after the slot; the grace period is "
                     f"{int(grace.total_seconds())} s")]


def _counted(spec: ScheduleSpec, zone: ZoneFacts, tz: ZoneInfo, now: datetime,
             days: tuple[date, date]) -> list[Decision]:
    window = _open_window(spec, tz, now, days)
    if window is None or not spec.every_tracks:
        return []
    count = zone.tracks_played // spec.every_tracks
    key = f"{_iso(window[0])}|{count}"
    mark = zone.marks.get(spec.key)
    if mark is None or mark.split("|")[0] != key.split("|")[0]:
        return [Decision(spec.id, "counted", key, now, spec.describe(),
                         f"counting tracks from {zone.tracks_played} in this window")]
    if not is_newer(key, mark):
        return []
    return [Decision(spec.id, "announce", key, now, spec.describe(),
                     f"{zone.tracks_played} music tracks played")]


def evaluate(specs: Iterable[ScheduleSpec], zone: ZoneFacts, now: datetime,
             grace: timedelta = GRACE) -> list[Decision]:
    """The decisions due for `zone` at `now`: music first, then announcements."""
    tz = _tz(zone.timezone)
    local_now = now.astimezone(tz)
    days = _days_to(local_now.date())
    mine = sorted((s for s in specs if zone.zone_id in s.zone_ids), key=lambda s: s.rank)
    decisions = _music([s for s in mine if s.kind == "music"], zone, tz, now, days)
    for spec in mine:
        if spec.kind != "announcement":
            continue
        if spec.every_tracks:
            decisions += _counted(spec, zone, tz, now, days)
        else:
            decisions += _timed(spec, zone, tz, now, local_now, days, grace)
    return decisions


def announcement_slots(specs: Iterable[ScheduleSpec], zone_id: UUID, timezone: str,
                       since: datetime, until: datetime) -> list[tuple[datetime, ScheduleSpec]]:
    """The timed announcement slots of `zone_id` in (since, until], by time: what a
    device fires itself if it loses the server (issue 17). Track-counted ones are left
    out: they depend on what plays, which the server decides."""
    tz = _tz(timezone)
    first, last = since.astimezone(tz).date() - timedelta(days=1), until.astimezone(tz).date()
    slots: list[tuple[datetime, ScheduleSpec]] = []
    for spec in specs:
        if (spec.kind != "announcement" or zone_id not in spec.zone_ids or spec.every_tracks
                or spec.announcement_id is None):
            continue
        for offset in range((last - first).days + 1):
            slots += [(at, spec) for at in _slots_on(spec, first + timedelta(days=offset), tz)
                      if since < at <= until and at >= spec.active_since]
    return sorted(slots, key=lambda pair: (pair[0], pair[1].rank))


def _slots_on(spec: ScheduleSpec, day: date, tz: ZoneInfo) -> list[datetime]:
    if not _runs_on(spec, day):
        return []
    opens, closes = _wall_window(spec, day)
    if spec.mode == "timeline" or not spec.every_minutes:
        walls = [opens]
    else:
        step = timedelta(minutes=spec.every_minutes)
        walls = [opens + k * step for k in range(int((closes - opens) / step) + 1)
                 if opens + k * step < closes]
    return [local_to_utc(w.date(), w.time(), tz) for w in walls]
