"""A simulated day of schedules on a controllable clock, against the real services.

A zone in London has a daytime music window, a higher-priority lunch window
and an every-15-minutes announcement between 10:00 and 11:00. The scheduler
(its own container, on the test's clock) ticks once a minute from 07:50 to
20:05, twice per tick as two schedulers racing would, without waiting for the
read models; the zone's stored events must show exactly the expected plays,
in order, each naming its rule.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient

from infra.bootstrap import Container
from tests.clock import Clock, clocked_container
from tests.integration.schedule_fixtures import Venue, every_rule, make_venue, music_rule

LONDON = ZoneInfo("Europe/London")


@pytest.fixture
def day() -> date:
    """A day after today: schedules made now count from now on."""
    return datetime.now(LONDON).date() + timedelta(days=2)


@pytest.fixture
def clock(day: date) -> Clock:
    return Clock(datetime.combine(day, time(7, 50), tzinfo=LONDON).astimezone(UTC))


@pytest.fixture
def scheduler_container(test_database: str, servers: dict[str, str], redis_prefix: str,
                        tmp_path: Path, clock: Clock) -> Iterator[Container]:
    with clocked_container(test_database, servers, redis_prefix, tmp_path, clock) as container:
        yield container


def local(day: date, hh: int, mm: int) -> str:
    return datetime.combine(day, time(hh, mm), tzinfo=LONDON).astimezone(UTC).isoformat()


def schedule(client: TestClient, venue: Venue, rule: dict[str, Any]) -> tuple[str, int]:
    response = client.post("/api/schedules/", json=rule, headers=venue.account.auth)
    assert response.status_code == 201, response.text
    return response.json()["id"], int(response.headers["X-Event-Position"])


def test_a_simulated_day_plays_music_windows_and_announcements_in_order(
        client: TestClient, container: Container, scheduler_container: Container,
        clock: Clock, day: date, tmp_path: Path) -> None:
    venue = make_venue(client, tmp_path, timezone="Europe/London", folders=("Day", "Lunch"))
    only_that_day = {"date_from": day.isoformat(), "date_to": day.isoformat()}
    daytime, _ = schedule(client, venue, music_rule(venue, "Day", "08:00", "20:00",
                                                    **only_that_day))
    lunch, _ = schedule(client, venue, music_rule(venue, "Lunch", "12:00", "13:00",
                                                  priority=5, **only_that_day))
    ads, position = schedule(client, venue, every_rule(venue, 15, "10:00", "11:00",
                                                       **only_that_day))
    container.wait("schedules_view", position)

    end = datetime.combine(day, time(20, 5), tzinfo=LONDON).astimezone(UTC)
    while clock.now <= end:
        scheduler_container.scheduler.tick()
        scheduler_container.scheduler.tick()  # a second scheduler at the same moment
        clock.now += timedelta(minutes=1)

    events = list(container.playback.events.get(UUID(venue.zone_id)))
    decided = [(e.action, str(e.schedule_id) if e.schedule_id else None, e.slot.split("@")[-1])
               for e in events if type(e).__name__ == "ScheduleDecided"]
    assert decided == [
        ("music", daytime, local(day, 8, 0)),
        ("announce", ads, local(day, 10, 0)),
        ("announce", ads, local(day, 10, 15)),
        ("announce", ads, local(day, 10, 30)),
        ("announce", ads, local(day, 10, 45)),
        ("music", lunch, local(day, 12, 0)),
        ("music", daytime, local(day, 8, 0)),  # lunch closed at 13:00: daytime again
        ("fallback", None, local(day, 20, 0)),
    ]
    decisions = [e for e in events if type(e).__name__ == "ScheduleDecided"]
    assert all(e.actor_kind == "schedule" and e.actor_id == str(e.schedule_id)
               for e in decisions if e.schedule_id)
    assert all(e.rule for e in decisions)

    started = [(e.source.get("schedule_id"), e.at) for e in events
               if type(e).__name__ == "PlaybackStarted"]
    assert [s for s, _ in started] == [daytime, lunch, daytime]
    assert [at.astimezone(LONDON).strftime("%H:%M") for _, at in started] == [
        "08:00", "12:00", "13:00"]
    announced = [e for e in events if type(e).__name__ == "AnnouncementStarted"]
    assert [e.at.astimezone(LONDON).strftime("%H:%M") for e in announced] == [
        "10:00", "10:15", "10:30", "10:45"]
    assert {e.announcement["schedule_id"] for e in announced} == {ads}
    zone = container.playback.get_zone(UUID(venue.zone_id))
    assert not zone.music_playing  # no fallback folders: the music stopped at 20:00


def test_disabling_a_schedule_stops_it_at_the_next_tick(
        client: TestClient, container: Container, scheduler_container: Container,
        clock: Clock, day: date, tmp_path: Path) -> None:
    venue = make_venue(client, tmp_path)
    clock.now = datetime.combine(day, time(9, 0, 30), tzinfo=UTC)
    ads, position = schedule(client, venue, every_rule(venue, 10))
    container.wait("schedules_view", position)
    container.wait("zones_view", container.playback.recorder.max_notification_id())
    scheduler_container.scheduler.tick()
    off = client.post(f"/api/schedules/{ads}/toggle/", headers=venue.account.auth)
    container.wait("schedules_view", int(off.headers["X-Event-Position"]))
    for minutes in range(10, 40):
        clock.now = datetime.combine(day, time(9, minutes, 30), tzinfo=UTC)
        scheduler_container.scheduler.tick()
    events = container.playback.events.get(UUID(venue.zone_id))
    assert [e.slot for e in events if type(e).__name__ == "ScheduleDecided"] == [
        datetime.combine(day, time(9, 0), tzinfo=UTC).isoformat()]
