"""Reports an auditor would sign: summaries of proof of play, and why a schedule's slot
did (not) play, on a scenario driven by the scheduler on a controllable clock.

A zone (UTC) has a "Day" music window 08:00-08:02, a higher-priority "Lunch" window
08:01-08:02, an announcement at 08:05 and another at 08:10 that the scheduler only
evaluates at 08:20 (it was down). Tracks last 31 s and 32 s, so no play ends on a tick.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from infra.bootstrap import Container
from tests.clock import Clock, clocked_container
from tests.integration.accounts_helpers import assert_problem
from tests.integration.schedule_fixtures import Venue, make_venue, music_rule


@pytest.fixture
def day() -> date:
    return datetime.now(UTC).date() + timedelta(days=2)


@pytest.fixture
def clock(day: date) -> Clock:
    return Clock(datetime.combine(day, time(7, 59), tzinfo=UTC))


@pytest.fixture
def scheduler_container(test_database: str, servers: dict[str, str], redis_prefix: str,
                        tmp_path: Path, clock: Clock) -> Iterator[Container]:
    with clocked_container(test_database, servers, redis_prefix, tmp_path, clock) as container:
        yield container


def at(day: date, hh: int, mm: int) -> datetime:
    return datetime.combine(day, time(hh, mm), tzinfo=UTC)


def schedule(client: TestClient, venue: Venue, rule: dict[str, Any]) -> str:
    response = client.post("/api/schedules/", json=rule, headers=venue.account.auth)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def once(venue: Venue, name: str, start: str, day: date) -> dict[str, Any]:
    return {"name": name, "type": "announcement", "mode": "timeline",
            "announcement_id": venue.announcement_id, "start_time": start,
            "zone_ids": [venue.zone_id], "date_from": day.isoformat(),
            "date_to": day.isoformat()}


@pytest.fixture
def scenario(client: TestClient, container: Container, scheduler_container: Container,
             clock: Clock, day: date, tmp_path: Path) -> dict[str, Any]:
    venue = make_venue(client, tmp_path, folders=("Spare", "Day", "Lunch"))
    dates = {"date_from": day.isoformat(), "date_to": day.isoformat()}
    ids = {"day": schedule(client, venue, music_rule(venue, "Day", "08:00", "08:02", **dates)),
           "lunch": schedule(client, venue, music_rule(venue, "Lunch", "08:01", "08:02",
                                                       priority=5, **dates)),
           "ads": schedule(client, venue, once(venue, "Ads", "08:05", day)),
           "late": schedule(client, venue, once(venue, "Late", "08:10", day))}
    container.wait("schedules_view", container.scheduling.recorder.max_notification_id())
    for minute in [*range(-1, 7), 20]:
        clock.now = at(day, 8, 0) + timedelta(minutes=minute)
        scheduler_container.scheduler.tick()
    container.wait("zone_history", container.playback.recorder.max_notification_id())
    return {"venue": venue, "ids": ids, "day": day}


def get(client: TestClient, venue: Venue, url: str, **params: Any) -> Any:
    response = client.get(url, params=params, headers=venue.account.auth)
    assert response.status_code == 200, response.text
    return response.json() if "json" in response.headers["content-type"] else response


def test_summaries_give_exact_totals_per_zone_track_announcement_and_client(
        client: TestClient, scenario: dict[str, Any]) -> None:
    venue, day = scenario["venue"], scenario["day"]
    span = {"from": at(day, 0, 0).isoformat(), "to": at(day, 23, 59).isoformat()}
    plays = get(client, venue, "/api/reports/plays/", zone_id=venue.zone_id, **span)["results"]
    assert all(p["ended_at"] for p in plays)
    announced = [p for p in plays if p["kind"] == "announcement"]
    assert len(announced) == 1 and len(plays) == 5
    heard = announced[0]["played_seconds"]
    assert heard == pytest.approx(announced[0]["duration_ms"] / 1000)

    def summary(group: str) -> Any:
        return get(client, venue, "/api/reports/summary/", group=group, **span)

    tracks = summary("track")
    assert sorted((r["plays"], r["seconds"]) for r in tracks["results"]) == [(2, 60.0),
                                                                             (2, 60.0)]
    assert tracks["totals"] == {"plays": 4, "seconds": 120.0}
    ads = summary("announcement")
    assert [(r["name"], r["plays"], r["seconds"]) for r in ads["results"]] == [
        ("Closing soon", 1, heard)]
    for group, name in (("zone", "Floor"), ("client", None)):
        rows = summary(group)["results"]
        assert [(r["key"], r["plays"], r["seconds"]) for r in rows] == [
            (venue.zone_id if group == "zone" else rows[0]["key"], 5, 120.0 + heard)]
        assert name is None or rows[0]["name"] == name
    assert summary("zone")["totals"] == {"plays": 5, "seconds": 120.0 + heard}
    later = get(client, venue, "/api/reports/summary/", group="zone",
                **{"from": at(day, 8, 4).isoformat()})
    assert later["totals"] == {"plays": 1, "seconds": heard}

    report = get(client, venue, "/api/reports/summary/", group="track", format="csv", **span)
    rows = list(csv.DictReader(io.StringIO(report.text)))
    assert [(r["key"], r["name"], int(r["plays"]), float(r["seconds"])) for r in rows[:-1]] == [
        (r["key"], r["name"], r["plays"], r["seconds"]) for r in tracks["results"]]
    assert (rows[-1]["group"], int(rows[-1]["plays"]), float(rows[-1]["seconds"])) == (
        "total", 4, 120.0)

    page = get(client, venue, "/api/reports/summary/", group="track", format="html", **span)
    assert page.headers["content-type"].startswith("text/html")
    csp = page.headers["content-security-policy"]
    assert "default-src 'none'" in csp and "script-src" not in csp
    assert "Proof of play per track" in page.text and "120.000" in page.text


def test_decisions_say_why_each_slot_did_or_did_not_play(
        client: TestClient, scenario: dict[str, Any]) -> None:
    venue, ids, day = scenario["venue"], scenario["ids"], scenario["day"]
    span = {"from": at(day, 0, 0).isoformat(), "to": at(day, 23, 59).isoformat()}

    def decisions(name: str, **params: Any) -> list[dict[str, Any]]:
        url = f"/api/schedules/{ids[name]}/decisions/"
        rows = list(get(client, venue, url, **params)["results"])
        return [{**d, "slot_at": datetime.fromisoformat(d["slot_at"])} for d in rows]

    fired = decisions("ads", at=at(day, 8, 5).isoformat())
    assert [(d["outcome"], d["recorded"], d["slot_at"]) for d in fired] == [
        ("played", True, at(day, 8, 5))]
    assert "started" in fired[0]["reason"] and fired[0]["zone_name"] == "Floor"
    missed = decisions("late", **span)
    assert [(d["outcome"], d["action"]) for d in missed] == [("missed", "missed")]
    assert missed[0]["reason"].startswith("missed: too late (first evaluated 600 s")
    music = decisions("day", **span)
    assert [(d["outcome"], d["slot_at"], d["recorded"]) for d in music] == [
        ("played", at(day, 8, 0), True), ("skipped", at(day, 8, 1), False)]
    assert music[1]["reason"].startswith("skipped: higher priority: 'Lunch music'")
    outside = decisions("ads", at=at(day, 9, 0).isoformat())
    assert [d["outcome"] for d in outside] == ["outside_window"]
    assert decisions("ads", **{"from": at(day, 9, 0).isoformat()}) == []


def test_another_client_sees_no_report_and_no_decision(
        client: TestClient, scenario: dict[str, Any], tmp_path: Path) -> None:
    venue, ids = scenario["venue"], scenario["ids"]
    (tmp_path / "rival").mkdir()
    rival = make_venue(client, tmp_path / "rival")
    auth = rival.account.auth
    for url in (f"/api/schedules/{ids['ads']}/decisions/",
                f"/api/reports/summary/?zone_id={venue.zone_id}",
                f"/api/reports/summary/?zone_id={venue.zone_id}&format=csv"):
        assert_problem(client.get(url, headers=auth), 404)
    mine = client.get("/api/reports/summary/?group=client", headers=venue.account.auth)
    theirs = client.get("/api/reports/summary/?group=client", headers=auth).json()
    assert theirs["count"] == 0 and theirs["totals"] == {"plays": 0, "seconds": 0.0}
    other = mine.json()["results"][0]["key"]
    assert_problem(client.get(f"/api/reports/summary/?client_id={other}", headers=auth), 404)
