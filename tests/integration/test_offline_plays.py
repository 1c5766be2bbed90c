"""Offline playback over HTTP (issue 17): the horizon a device caches, and the plays
it reports when it is back, which proof of play takes over the outage with it."""

from __future__ import annotations

import time
import uuid
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from infra.bootstrap import Container
from tests.integration.accounts_helpers import assert_problem
from tests.integration.schedule_fixtures import Venue, make_venue


def paired_device(client: TestClient, venue: Venue) -> tuple[str, dict[str, str]]:
    code = client.post(f"/api/zones/{venue.zone_id}/pairing-code/", headers=venue.account.auth)
    assert code.status_code == 201, code.text
    paired = client.post("/api/devices/pair/", json={
        "code": code.json()["code"], "device_id": f"hw-{uuid.uuid4()}", "name": "Till",
        "device_type": "browser"})
    assert paired.status_code == 201, paired.text
    return paired.json()["device"]["id"], {"Authorization": f"Bearer {paired.json()['token']}"}


def play(client: TestClient, venue: Venue) -> dict[str, Any]:
    response = client.post("/api/playback/play/", headers=venue.account.auth, json={
        "zone_id": venue.zone_id, "folder_ids": list(venue.folders.values())})
    assert response.status_code == 200, response.text
    return dict(response.json())


def plays_of(client: TestClient, venue: Venue, position: int | None = None
             ) -> list[dict[str, Any]]:
    headers = {**venue.account.auth, **({"X-Wait-For-Position": str(position)}
                                         if position else {})}
    response = client.get("/api/reports/plays/", params={"zone_id": venue.zone_id},
                          headers=headers)
    assert response.status_code == 200, response.text
    return list(response.json()["results"])


def offline_play(play_id: str, item: dict[str, Any], start: datetime, end: datetime
                 ) -> dict[str, Any]:
    return {"play_id": play_id, "kind": "track", "item_id": item["item_id"],
            "title": item["title"], "artist": item["artist"],
            "duration_ms": item["duration_ms"], "started_at": start.isoformat(),
            "ended_at": end.isoformat(), "end_reason": "natural"}


def test_the_horizon_lists_the_tracks_to_come_with_their_start_times(
        client: TestClient, tmp_path: Path) -> None:
    venue = make_venue(client, tmp_path, folders=("Day", "Evening"))
    state = play(client, venue)
    device_id, token = paired_device(client, venue)
    response = client.get(f"/api/zones/{venue.zone_id}/horizon/", headers=token)
    assert response.status_code == 200, response.text
    tracks = response.json()["tracks"]
    assert tracks[0]["item_id"] == state["current"]["item_id"]
    assert len(tracks) >= 3  # 30 s tracks repeat to cover the hour
    starts = [datetime.fromisoformat(t["starts_at"]) for t in tracks]
    for track, start, after in zip(tracks, starts, starts[1:], strict=False):
        assert after - start == timedelta(milliseconds=track["duration_ms"])
        assert track["url"].startswith("/api/media/") or "media" in track["url"]
    assert starts[-1] >= datetime.fromisoformat(response.json()["until"]) - timedelta(
        milliseconds=tracks[-1]["duration_ms"])
    (tmp_path / "other").mkdir()
    other = make_venue(client, tmp_path / "other")
    assert_problem(client.get(f"/api/zones/{other.zone_id}/horizon/", headers=token), 403)


def test_plays_reported_after_an_outage_replace_the_zones_record_once(
        client: TestClient, container: Container, tmp_path: Path) -> None:
    venue = make_venue(client, tmp_path, folders=("Day", "Evening"))
    state = play(client, venue)
    device_id, token = paired_device(client, venue)
    start = datetime.fromisoformat(state["current"] and state["position_at"])
    time.sleep(1.2)
    day, evening = state["current"], state["next"]
    reported = [offline_play("p1", day, start, start + timedelta(seconds=0.4)),
                offline_play("p2", evening, start + timedelta(seconds=0.4),
                             start + timedelta(seconds=0.9))]
    url = f"/api/devices/{device_id}/plays/"
    response = client.post(url, json={"zone_id": venue.zone_id, "plays": reported},
                           headers=token)
    assert response.status_code == 200, response.text
    assert response.json() == {"received": 2, "recorded": 2}
    plays = plays_of(client, venue, int(response.headers["X-Event-Position"]))
    assert [(p["source"], p["title"]) for p in plays] == [
        ("device", day["title"]), ("device", evening["title"]), ("server", day["title"])]
    assert all(a["ended_at"] == b["started_at"] for a, b in zip(plays, plays[1:],
                                                                 strict=False))
    assert plays[0]["device_id"] == device_id

    again = client.post(url, json={"zone_id": venue.zone_id, "plays": reported},
                        headers=token)
    assert again.json() == {"received": 2, "recorded": 0}
    def key(p: dict[str, Any]) -> tuple[Any, ...]:
        return p["id"], p["source"], p["started_at"], p["ended_at"]

    assert [key(p) for p in plays_of(client, venue)] == [key(p) for p in plays]


def test_a_play_spanning_the_outage_is_split_around_the_devices_report(
        client: TestClient, tmp_path: Path) -> None:
    venue = make_venue(client, tmp_path, folders=("Day", "Evening"))
    state = play(client, venue)
    device_id, token = paired_device(client, venue)
    start = datetime.fromisoformat(state["position_at"])
    time.sleep(1.0)
    ann = {"item_id": venue.announcement_id, "title": "Closing soon", "artist": "",
           "duration_ms": 3000}
    middle = {**offline_play("a1", ann, start + timedelta(seconds=0.3),
                             start + timedelta(seconds=0.6)), "kind": "announcement"}
    response = client.post(f"/api/devices/{device_id}/plays/", headers=token,
                           json={"zone_id": venue.zone_id, "plays": [middle]})
    assert response.status_code == 200, response.text
    plays = plays_of(client, venue, int(response.headers["X-Event-Position"]))
    assert [(p["source"], p["kind"], p["end_reason"]) for p in plays] == [
        ("server", "track", "offline"), ("device", "announcement", "natural"),
        ("server", "track", None)]
    assert [p["started_at"] for p in plays[1:]] == [p["ended_at"] for p in plays[:-1]]


def test_a_device_reports_only_its_own_plays_and_sane_times(
        client: TestClient, tmp_path: Path) -> None:
    venue = make_venue(client, tmp_path)
    state = play(client, venue)
    device_id, token = paired_device(client, venue)
    now = datetime.fromisoformat(state["server_time"])
    good = offline_play("x", state["current"], now - timedelta(seconds=5), now)
    other_device = str(uuid.uuid4())
    assert_problem(client.post(f"/api/devices/{other_device}/plays/", headers=token,
                               json={"zone_id": venue.zone_id, "plays": [good]}), 403)
    backwards = {**good, "ended_at": (now - timedelta(seconds=9)).isoformat()}
    future = {**good, "play_id": "y", "started_at": (now + timedelta(hours=1)).isoformat(),
              "ended_at": (now + timedelta(hours=1, seconds=5)).isoformat()}
    for bad in (backwards, future):
        assert_problem(client.post(f"/api/devices/{device_id}/plays/", headers=token,
                                   json={"zone_id": venue.zone_id, "plays": [bad]}), 422)
