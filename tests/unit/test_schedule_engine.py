"""The schedule engine, against a real Zone that records what was decided.

The properties compare the engine with an oracle that finds slots the slow
way: minute by minute through real instants, keeping the first instant at
which the zone's wall clock reached each slot's wall time.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from itertools import cycle
from uuid import UUID
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.base import Actor, ActorKind, CommandContext, acting
from domain.playback import QueueItem
from domain.schedule_engine import (
    GRACE,
    Decision,
    ScheduleSpec,
    ZoneFacts,
    evaluate,
    local_to_utc,
)
from domain.zone import Zone

CTX = CommandContext(Actor(ActorKind.SCHEDULE, "engine-test"), "test")
CLIENT = UUID(int=1)
TIMEZONES = ["America/New_York", "Europe/London", "Europe/Berlin", "Australia/Lord_Howe",
             "Asia/Kolkata", "UTC"]


@pytest.fixture(autouse=True)
def _acting() -> Iterator[None]:
    with acting(CTX):
        yield


def make_zone(timezone: str) -> Zone:
    with acting(CTX):
        return Zone.create(client_id=CLIENT, name="Shop floor", timezone=timezone)


def announcement(zone: Zone, n: int = 1, **rule: object) -> ScheduleSpec:
    fields: dict[str, object] = {"id": UUID(int=100 + n), "name": f"ad {n}",
                                 "kind": "announcement", "mode": "interval",
                                 "zone_ids": frozenset({zone.id}),
                                 "active_since": datetime(2026, 1, 1, tzinfo=UTC)}
    return ScheduleSpec(**{**fields, **rule})  # type: ignore[arg-type]


def music(zone: Zone, n: int, start: time, end: time, priority: int = 0,
          name: str | None = None, days: frozenset[int] = frozenset()) -> ScheduleSpec:
    return ScheduleSpec(id=UUID(int=200 + n), name=name or f"music {n}", kind="music",
                        mode="timeline", start=start, end=end, priority=priority, days=days,
                        folder_ids=(UUID(int=300 + n),), zone_ids=frozenset({zone.id}))


def run(zone: Zone, specs: list[ScheduleSpec], now: datetime,
        grace: timedelta = GRACE) -> list[Decision]:
    """One tick, as the application does it: decide on the zone's own state, record."""
    decisions = evaluate(specs, zone.schedule_facts(), now, grace)
    for decision in decisions:
        zone.record_decision(decision, "test")
    return decisions


def fired(decisions: list[Decision]) -> list[str]:
    return [d.slot for d in decisions if d.action == "announce"]


# -- the oracle ------------------------------------------------------------------------


def oracle_slots(spec: ScheduleSpec, tz: ZoneInfo, start: datetime, end: datetime
                 ) -> list[datetime]:
    """Every slot instant in [start, end], found minute by minute."""
    wall_slots: set[datetime] = set()
    day = start.astimezone(tz).date() - timedelta(days=1)
    while day <= end.astimezone(tz).date():
        if not spec.days or day.weekday() in spec.days:
            opens = datetime.combine(day, spec.start or time(0))
            closes = (datetime.combine(day, spec.end) if spec.end
                      else datetime.combine(day + timedelta(days=1), time(0)))
            if closes <= opens:
                closes += timedelta(days=1)
            step = timedelta(minutes=spec.every_minutes or 10**6)
            wall = opens
            while wall < closes:
                wall_slots.add(wall)
                wall += step
        day += timedelta(days=1)
    found: dict[datetime, datetime] = {}
    instant = (start - timedelta(hours=30)).replace(second=0, microsecond=0)
    pending = sorted(wall_slots)
    while pending and instant <= end + timedelta(hours=3):
        wall = instant.astimezone(tz).replace(tzinfo=None)
        while pending and pending[0] <= wall:
            found.setdefault(pending.pop(0), instant)
        instant += timedelta(minutes=1)
    return sorted({i for i in found.values() if start <= i <= end})


# -- examples ----------------------------------------------------------------------------


def test_every_fifteen_minutes_fires_each_slot_once_however_often_it_ticks() -> None:
    zone = make_zone("Europe/London")
    spec = announcement(zone, every_minutes=15, start=time(9), end=time(12))
    t0 = datetime(2026, 6, 1, 8, 0, tzinfo=UTC)  # 09:00 in London (BST)
    slots = [s for minute in range(0, 120) for s in
             fired(run(zone, [spec], t0 + timedelta(minutes=minute, seconds=7)))]
    assert slots == [(t0 + timedelta(minutes=m)).isoformat() for m in (0, 15, 30, 45, 60, 75,
                                                                        90, 105)]


def test_a_slot_found_after_its_grace_period_is_recorded_as_missed_not_played() -> None:
    zone = make_zone("UTC")
    spec = announcement(zone, mode="timeline", start=time(14))
    decisions = run(zone, [spec], datetime(2026, 6, 1, 14, 20, tzinfo=UTC))
    assert [d.action for d in decisions] == ["missed"]
    assert "grace" in decisions[0].detail
    assert run(zone, [spec], datetime(2026, 6, 1, 14, 21, tzinfo=UTC)) == []


def test_a_start_time_skipped_by_spring_forward_fires_once_at_the_jump() -> None:
    zone = make_zone("America/New_York")
    spec = announcement(zone, mode="timeline", start=time(2, 30))
    jump = datetime(2026, 3, 8, 7, 0, tzinfo=UTC)  # 02:00 EST became 03:00 EDT
    assert local_to_utc(date(2026, 3, 8), time(2, 30), ZoneInfo("America/New_York")) == jump
    slots = [s for minute in range(-30, 90) for s in
             fired(run(zone, [spec], jump + timedelta(minutes=minute)))]
    assert slots == [jump.isoformat()]


def test_nothing_fires_twice_in_the_hour_repeated_at_fall_back() -> None:
    zone = make_zone("Europe/London")
    spec = announcement(zone, every_minutes=30)
    start = datetime(2026, 10, 24, 23, 0, tzinfo=UTC)  # 00:00 BST on fall-back day
    slots = [s for minute in range(0, 6 * 60, 2) for s in
             fired(run(zone, [spec], start + timedelta(minutes=minute)))]
    # Wall slots 00:00, 00:30, 01:00, 01:30 (first pass, BST), 02:00 ... once each.
    walls = [datetime.fromisoformat(s).astimezone(ZoneInfo("Europe/London")).strftime("%H:%M")
             for s in slots]
    assert walls == sorted(set(walls)) and len(walls) == len(set(walls))
    assert walls[:5] == ["00:00", "00:30", "01:00", "01:30", "02:00"]


def test_the_highest_priority_open_window_decides_and_ties_go_by_name() -> None:
    zone = make_zone("UTC")
    low = music(zone, 1, time(8), time(20), priority=1, name="b-daytime")
    high = music(zone, 2, time(12), time(14), priority=5, name="lunch")
    tie = music(zone, 3, time(8), time(20), priority=1, name="a-daytime")
    now = datetime(2026, 6, 1, 9, tzinfo=UTC)
    assert [d.schedule_id for d in run(zone, [low, high, tie], now)] == [tie.id]
    assert run(zone, [low, high, tie], now + timedelta(minutes=1)) == []
    lunch = run(zone, [tie, low, high], datetime(2026, 6, 1, 12, 0, 3, tzinfo=UTC))
    assert [d.schedule_id for d in lunch] == [high.id]
    after = run(zone, [high, tie, low], datetime(2026, 6, 1, 14, 0, 3, tzinfo=UTC))
    assert [d.schedule_id for d in after] == [tie.id]


def test_an_overnight_window_plays_after_midnight_and_then_falls_back() -> None:
    zone = make_zone("Europe/Berlin")
    night = music(zone, 1, time(22), time(6), days=frozenset({4}))  # opens Fridays only
    saturday_2am = datetime(2026, 6, 6, 0, 0, tzinfo=UTC)  # 02:00 in Berlin, Saturday
    assert [d.action for d in run(zone, [night], saturday_2am)] == ["music"]
    closes = datetime(2026, 6, 6, 4, 0, 5, tzinfo=UTC)  # 06:00:05 in Berlin
    assert [d.action for d in run(zone, [night], closes)] == ["fallback"]
    assert run(zone, [night], closes + timedelta(hours=1)) == []


def test_a_manual_play_overrides_schedules_until_the_next_boundary() -> None:
    zone = make_zone("UTC")
    morning = music(zone, 1, time(8), time(12))
    afternoon = music(zone, 2, time(12), time(18))
    run(zone, [morning, afternoon], datetime(2026, 6, 1, 8, 0, 1, tzinfo=UTC))
    zone.play([QueueItem(UUID(int=9), 60_000, "m/9.mp3", "audio/mpeg", "Request")],
              shuffle=False, source={"folder_ids": []}, rng=random.Random(1),
              now=datetime(2026, 6, 1, 9, tzinfo=UTC))
    assert run(zone, [morning, afternoon], datetime(2026, 6, 1, 11, 59, tzinfo=UTC)) == []
    noon = run(zone, [morning, afternoon], datetime(2026, 6, 1, 12, 0, 2, tzinfo=UTC))
    assert [d.schedule_id for d in noon] == [afternoon.id]


def test_after_n_tracks_counts_from_the_window_and_fires_every_n() -> None:
    zone = make_zone("UTC")
    spec = announcement(zone, every_tracks=3)
    now = datetime(2026, 6, 1, 9, tzinfo=UTC)
    zone.play([QueueItem(UUID(int=n), 60_000, f"m/{n}.mp3", "audio/mpeg", f"T{n}")
               for n in range(4)], shuffle=False, source={}, rng=random.Random(1), now=now)
    assert [d.action for d in run(zone, [spec], now)] == ["counted"]
    plays = []
    for played in range(1, 10):
        zone.next(now + timedelta(minutes=played), random.Random(1))  # a track skipped
        plays += fired(run(zone, [spec], now + timedelta(minutes=played, seconds=1)))
    assert zone.tracks_played == 9
    assert [p.split("|")[1] for p in plays] == ["1", "2", "3"]


def test_a_disabled_schedule_decides_nothing_at_once() -> None:
    zone = make_zone("UTC")
    spec = announcement(zone, every_minutes=10)
    assert fired(run(zone, [spec], datetime(2026, 6, 1, 9, 0, 30, tzinfo=UTC)))
    assert run(zone, [], datetime(2026, 6, 1, 9, 10, 30, tzinfo=UTC)) == []


# -- properties ----------------------------------------------------------------------------

ticks_gaps = st.lists(st.integers(min_value=29, max_value=int(GRACE.total_seconds()) - 1),
                      min_size=1, max_size=50)


DST_DAYS = [("America/New_York", date(2026, 3, 8)), ("America/New_York", date(2026, 11, 1)),
            ("Europe/London", date(2026, 3, 29)), ("Europe/Berlin", date(2026, 10, 25)),
            ("Australia/Lord_Howe", date(2026, 10, 4)),
            ("Australia/Lord_Howe", date(2026, 4, 5))]  # Lord Howe moves 30 minutes


def check_every_slot_fires_once(tz: str, day: date, every: int, start: time, end: time,
                                gaps: list[int], repeats: list[bool], hours: int = 26) -> None:
    """Ticks `gaps` apart (cycled) from an hour before local midnight of `day`."""
    zone = make_zone(tz)
    spec = announcement(zone, every_minutes=every, start=start, end=end)
    first = datetime.combine(day, time(0), tzinfo=ZoneInfo(tz)).astimezone(UTC)
    now = first = first - timedelta(hours=1)
    slots: list[str] = []
    for gap, repeat in zip(cycle(gaps), cycle(repeats), strict=False):
        if now > first + timedelta(hours=hours):
            break
        now += timedelta(seconds=gap + 1)
        slots += fired(run(zone, [spec], now))
        if repeat:  # a second scheduler, or a retried tick, at the same moment
            slots += fired(run(zone, [spec], now))
    expected = [s.isoformat() for s in oracle_slots(spec, ZoneInfo(tz), first, now)]
    assert slots == expected  # each slot once, in order, none missed


@settings(max_examples=25, deadline=None)
@given(tz=st.sampled_from(TIMEZONES), every=st.sampled_from([10, 15, 20, 30, 45, 60, 90]),
       start_hour=st.integers(0, 23), hours=st.integers(1, 23),
       day=st.sampled_from([date(2026, 3, 8), date(2026, 10, 25), date(2026, 6, 1)]),
       gaps=ticks_gaps, repeats=st.lists(st.booleans(), min_size=7, max_size=7))
def test_no_slot_is_missed_or_doubled_when_ticks_come_within_the_grace_period(
        tz: str, every: int, start_hour: int, hours: int, day: date, gaps: list[int],
        repeats: list[bool]) -> None:
    check_every_slot_fires_once(tz, day, every, time(start_hour),
                                time((start_hour + hours) % 24), gaps, repeats)


@settings(max_examples=60, deadline=None)
@given(place=st.sampled_from(DST_DAYS), every=st.sampled_from([10, 15, 20, 45, 60, 90]),
       start=st.builds(time, st.integers(0, 3), st.sampled_from([0, 10, 15, 30, 45])),
       hours=st.integers(1, 6),
       gaps=ticks_gaps, repeats=st.lists(st.booleans(), min_size=7, max_size=7))
def test_windows_around_clock_changes_fire_every_slot_once(
        place: tuple[str, date], every: int, start: time, hours: int, gaps: list[int],
        repeats: list[bool]) -> None:
    end = time((start.hour + hours) % 24, start.minute)
    check_every_slot_fires_once(place[0], place[1], every, start, end, gaps, repeats, hours=11)


@settings(max_examples=60, deadline=None)
@given(tz=st.sampled_from(TIMEZONES), every=st.sampled_from([1, 5, 7, 15, 60]),
       gaps=st.lists(st.integers(min_value=0, max_value=3 * 3600), min_size=5, max_size=60))
def test_late_and_irregular_ticks_never_play_a_slot_twice_or_outside_its_grace(
        tz: str, every: int, gaps: list[int]) -> None:
    zone = make_zone(tz)
    spec = announcement(zone, every_minutes=every)
    now = datetime(2026, 3, 28, 20, tzinfo=UTC)
    decided: list[Decision] = []
    for gap in gaps:
        now += timedelta(seconds=gap)
        decided += run(zone, [spec], now)
        decided += run(zone, [spec], now)
    slots = [d.slot for d in decided]
    assert len(slots) == len(set(slots))
    ticks = [d for d in decided if d.action == "announce"]
    assert all(d.at <= now for d in ticks)


@settings(max_examples=80, deadline=None)
@given(priorities=st.lists(st.integers(-3, 3), min_size=1, max_size=6),
       names=st.lists(st.sampled_from(["a", "b", "c"]), min_size=6, max_size=6),
       seed=st.integers(0, 1000))
def test_priority_resolution_does_not_depend_on_the_order_schedules_come_in(
        priorities: list[int], names: list[str], seed: int) -> None:
    zone = make_zone("UTC")
    specs = [music(zone, n, time(8), time(20), priority=p, name=names[n])
             for n, p in enumerate(priorities)]
    shuffled = specs[:]
    random.Random(seed).shuffle(shuffled)
    now = datetime(2026, 6, 1, 10, tzinfo=UTC)
    facts = ZoneFacts(zone.id)
    assert evaluate(specs, facts, now) == evaluate(shuffled, facts, now)
    winner = evaluate(specs, facts, now)[0].schedule_id
    best = min(specs, key=lambda s: (-s.priority, s.name, str(s.id)))
    assert winner == best.id


def test_a_device_learns_the_announcement_slots_of_the_next_hour() -> None:
    from uuid import uuid4

    from domain.schedule_engine import announcement_slots

    zone = uuid4()
    every_20 = ScheduleSpec(uuid4(), "Offers", "announcement", "interval",
                            start=time(9), end=time(17), every_minutes=20,
                            announcement_id=uuid4(), zone_ids=frozenset({zone}))
    counted = ScheduleSpec(uuid4(), "Counted", "announcement", "interval", every_tracks=3,
                           announcement_id=uuid4(), zone_ids=frozenset({zone}))
    now = datetime(2024, 5, 6, 9, 50, tzinfo=UTC)
    slots = announcement_slots([every_20, counted], zone, "UTC", now, now + timedelta(hours=1))
    assert [at.strftime("%H:%M") for at, _ in slots] == ["10:00", "10:20", "10:40"]
