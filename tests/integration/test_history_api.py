"""Auditors over HTTP: zone history, time travel and proof of play."""

from __future__ import annotations

import csv
import io
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from infra.bootstrap import Container
from tests.integration.accounts_helpers import assert_problem
from tests.integration.schedule_fixtures import Venue, make_venue


def command(client: TestClient, venue: Venue, name: str, **body: Any) -> int:
    response = client.post(f"/api/playback/{name}/", json={"zone_id": venue.zone_id, **body},
                           headers=venue.account.auth)
    assert response.status_code == 200, response.text
    return int(response.headers["X-Event-Position"])


def live_state(client: TestClient, venue: Venue, position: int) -> dict[str, Any]:
    headers = {**venue.account.auth, "X-Wait-For-Position": str(position)}
    response = client.get(f"/api/playback/state/?zone_id={venue.zone_id}", headers=headers)
    assert response.status_code == 200, response.text
    return dict(response.json())


def heard(state: dict[str, Any]) -> tuple[Any, ...]:
    ann = state["announcement"]
    return (state["current"] and state["current"]["item_id"], state["music_playing"],
            state["volume"], ann and ann["announcement_id"], state["play_seq"],
            state["queue_position"])


def music_position(state: dict[str, Any], at: datetime) -> int:
    position = int(state["position_ms"])
    if state["music_playing"] and not state["announcement"]:
        position += int((at - datetime.fromisoformat(state["position_at"])) /
                        timedelta(milliseconds=1))
    return position


def test_time_travel_shows_what_was_live_at_each_moment_and_plays_are_proven(
        client: TestClient, container: Container, tmp_path: Path) -> None:
    venue = make_venue(client, tmp_path, folders=("Day", "Evening"))
    auth = venue.account.auth
    steps: list[tuple[str, dict[str, Any]]] = [
        ("play", {"folder_ids": [venue.folders["Day"], venue.folders["Evening"]]}),
        ("next", {}), ("volume", {"volume": 35}), ("seek", {"position_ms": 4000}),
        ("pause", {}), ("resume", {}), ("previous", {}),
    ]
    recorded: list[tuple[datetime, dict[str, Any]]] = []
    for name, body in steps:
        state = live_state(client, venue, command(client, venue, name, **body))
        recorded.append((datetime.fromisoformat(state["server_time"]), state))
        time.sleep(0.3)
    instant = client.post(f"/api/announcements/{venue.announcement_id}/play-instant/",
                          json={"zone_ids": [venue.zone_id]}, headers=auth)
    assert instant.status_code == 200, instant.text
    state = live_state(client, venue, int(instant.headers["X-Event-Position"]))
    recorded.append((datetime.fromisoformat(state["server_time"]), state))
    last = command(client, venue, "next")  # skip the announcement: the music resumes
    last = command(client, venue, "pause")
    container.wait("zone_history", last)

    for at, live in recorded:
        past = client.get(f"/api/zones/{venue.zone_id}/state/",
                          params={"at": at.isoformat()}, headers=auth)
        assert past.status_code == 200, past.text
        assert heard(past.json()) == heard(live)
        assert abs(past.json()["music_position_ms"] - music_position(live, at)) <= 5

    plays = client.get("/api/reports/plays/", params={"zone_id": venue.zone_id},
                       headers=auth).json()["results"]
    day, evening = (recorded[0][1]["current"]["title"], recorded[1][1]["current"]["title"])
    assert [(p["kind"], p["title"], p["end_reason"]) for p in plays] == [
        ("track", day, "skipped"),         # next
        ("track", evening, "stopped"),     # paused
        ("track", evening, "skipped"),     # resumed, then previous
        ("track", day, "interrupted"),     # the instant announcement
        ("announcement", "Closing soon", "skipped"),
        ("track", day, "stopped"),         # the music resumed, then paused
    ]
    assert all(a["ended_at"] <= b["started_at"] for a, b in zip(plays, plays[1:],
                                                                 strict=False))
    report = client.get("/api/reports/plays/", params={"zone_id": venue.zone_id,
                                                       "format": "csv"}, headers=auth)
    assert report.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(report.text)))
    assert [r["id"] for r in rows] == [p["id"] for p in plays]


def test_history_names_who_changed_what_and_is_paginated(
        client: TestClient, container: Container, tmp_path: Path) -> None:
    venue = make_venue(client, tmp_path)
    command(client, venue, "play", folder_ids=[venue.folders["Day"]])
    container.wait("zone_history", command(client, venue, "volume", volume=20))
    url = f"/api/zones/{venue.zone_id}/history/?page_size=2"
    first = client.get(url, headers=venue.account.auth).json()
    assert first["count"] == 3 and first["next"]
    entries = first["results"] + client.get(first["next"],
                                            headers=venue.account.auth).json()["results"]
    assert [e["type"] for e in entries] == ["Created", "PlaybackStarted", "VolumeChanged"]
    assert {e["actor"]["kind"] for e in entries} == {"user"}
    assert {e["actor"]["id"] for e in entries} == {venue.account.user_id}
    assert entries[2]["changes"] == {"volume": 20} and entries[2]["summary"] == "volume 20"
    future = (datetime.fromisoformat(entries[-1]["at"]) + timedelta(hours=1)).isoformat()
    assert client.get(f"/api/zones/{venue.zone_id}/history/", params={"from": future},
                      headers=venue.account.auth).json()["count"] == 0


def test_auditors_see_only_their_own_zones(client: TestClient, tmp_path: Path) -> None:
    (tmp_path / "a").mkdir(), (tmp_path / "b").mkdir()
    venue, rival = make_venue(client, tmp_path / "a"), make_venue(client, tmp_path / "b")
    auth = venue.account.auth
    for url in (f"/api/zones/{rival.zone_id}/history/",
                f"/api/zones/{rival.zone_id}/state/?at=2030-01-01T00:00:00Z",
                f"/api/reports/plays/?zone_id={rival.zone_id}"):
        assert_problem(client.get(url, headers=auth), 404)
    before = client.get(f"/api/zones/{venue.zone_id}/state/?at=2000-01-01T00:00:00Z",
                        headers=auth)
    assert "did not exist" in assert_problem(before, 404)["detail"]
    naive = client.get(f"/api/zones/{venue.zone_id}/state/?at=2030-01-01T00:00:00",
                       headers=auth)
    assert_problem(naive, 422)
