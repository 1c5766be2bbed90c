"""`/api/schedules/` against the real services: CRUD, toggle, rules, tenancy."""

from __future__ import annotations

from uuid import UUID

import pytest
from fastapi.testclient import TestClient

from infra.bootstrap import Container
from tests.integration.accounts_helpers import assert_problem
from tests.integration.schedule_fixtures import Venue, every_rule, make_venue, music_rule


@pytest.fixture(scope="module")
def venue(client: TestClient, tmp_path_factory: pytest.TempPathFactory) -> Venue:
    return make_venue(client, tmp_path_factory.mktemp("venue"), timezone="Europe/London",
                      folders=("Day", "Lunch"))


@pytest.fixture(scope="module")
def rival(client: TestClient, tmp_path_factory: pytest.TempPathFactory) -> Venue:
    return make_venue(client, tmp_path_factory.mktemp("rival"))


def test_a_schedule_is_created_listed_changed_toggled_and_deleted(
        client: TestClient, container: Container, venue: Venue) -> None:
    auth = venue.account.auth
    created = client.post("/api/schedules/", json=music_rule(
        venue, "Day", "08:00", "20:00", days_of_week=[0, 1, 2, 3, 4], priority=2), headers=auth)
    assert created.status_code == 201, created.text
    body = created.json()
    assert (body["start_time"], body["end_time"], body["is_active"]) == (
        "08:00:00", "20:00:00", True)
    waiting = {**auth, "X-Wait-For-Position": created.headers["X-Event-Position"]}
    listed = client.get(f"/api/schedules/?zone_id={venue.zone_id}", headers=waiting).json()
    assert [s["id"] for s in listed["results"]] == [body["id"]]

    changed = client.patch(f"/api/schedules/{body['id']}/",
                           json={"end_time": "22:30", "priority": 7}, headers=auth)
    assert changed.status_code == 200, changed.text
    assert (changed.json()["end_time"], changed.json()["priority"]) == ("22:30:00", 7)
    toggled = client.post(f"/api/schedules/{body['id']}/toggle/", headers=auth)
    assert toggled.json()["is_active"] is False
    on = client.post(f"/api/schedules/{body['id']}/toggle/", json={"is_active": True},
                     headers=auth).json()
    assert on["is_active"] is True and on["active_since"] > body["active_since"]

    kinds = [type(e).__name__ for e in container.scheduling.events.get(UUID(body["id"]))]
    assert kinds == ["Created", "RuleChanged", "Toggled", "Toggled"]
    deleted = client.delete(f"/api/schedules/{body['id']}/", headers=auth)
    assert deleted.status_code == 204
    waiting = {**auth, "X-Wait-For-Position": deleted.headers["X-Event-Position"]}
    assert_problem(client.get(f"/api/schedules/{body['id']}/", headers=waiting), 404)


@pytest.mark.parametrize(("change", "field"), [
    ({"folder_ids": []}, "folder_ids"),
    ({"start_time": "09:00", "end_time": "09:00"}, "end_time"),
    ({"mode": "interval"}, "start_time"),
    ({"announcement_id": "00000000-0000-0000-0000-000000000001"}, "announcement_id"),
    ({"end_time": None}, "end_time"),
    ({"date_from": "2026-12-31", "date_to": "2026-01-01"}, "date_to"),
])
def test_a_rule_that_does_not_hold_together_is_422_naming_the_field(
        client: TestClient, venue: Venue, change: dict[str, object], field: str) -> None:
    rule = {**music_rule(venue, "Day", "08:00", "20:00"), **change}
    body = assert_problem(client.post("/api/schedules/", json=rule,
                                      headers=venue.account.auth), 422)
    assert field in body["detail"] or field in str(body.get("errors", ""))


def test_interval_announcements_need_their_interval(client: TestClient, venue: Venue) -> None:
    rule = every_rule(venue, 15)
    del rule["interval_minutes"]
    body = assert_problem(client.post("/api/schedules/", json=rule,
                                      headers=venue.account.auth), 422)
    assert "interval_minutes" in body["detail"]
    assert client.post("/api/schedules/", json=every_rule(venue, 15, "09:00", "12:00"),
                       headers=venue.account.auth).status_code == 201


def test_another_clients_zones_folders_and_schedules_are_not_found(
        client: TestClient, venue: Venue, rival: Venue) -> None:
    foreign_zone = {**music_rule(venue, "Day", "08:00", "20:00"), "zone_ids": [rival.zone_id]}
    assert_problem(client.post("/api/schedules/", json=foreign_zone,
                               headers=venue.account.auth), 404)
    foreign_folder = {**music_rule(venue, "Day", "08:00", "20:00"),
                      "folder_ids": [rival.folders["Day"]]}
    assert_problem(client.post("/api/schedules/", json=foreign_folder,
                               headers=venue.account.auth), 404)
    mine = client.post("/api/schedules/", json=music_rule(rival, "Day", "06:00", "07:00"),
                       headers=rival.account.auth)
    schedule_id = mine.json()["id"]
    waiting = {**venue.account.auth, "X-Wait-For-Position": mine.headers["X-Event-Position"]}
    assert_problem(client.get(f"/api/schedules/{schedule_id}/", headers=waiting), 404)
    assert_problem(client.patch(f"/api/schedules/{schedule_id}/", json={"priority": 1},
                                headers=venue.account.auth), 404)
    assert_problem(client.post(f"/api/schedules/{schedule_id}/toggle/",
                               headers=venue.account.auth), 404)
    listed = client.get("/api/schedules/?page_size=100", headers=waiting).json()["results"]
    assert schedule_id not in {s["id"] for s in listed}
    assert {s["client_id"] for s in listed} <= {venue.account.client_id}


def test_a_zone_falls_back_to_its_own_folders_only(
        client: TestClient, venue: Venue, rival: Venue) -> None:
    url = f"/api/zones/{venue.zone_id}/"
    assert_problem(client.patch(url, json={"fallback_folder_ids": [rival.folders["Day"]]},
                                headers=venue.account.auth), 404)
    ok = client.patch(url, json={"fallback_folder_ids": [venue.folders["Lunch"]]},
                      headers=venue.account.auth)
    assert ok.status_code == 200, ok.text
    assert ok.json()["fallback_folder_ids"] == [venue.folders["Lunch"]]


def test_null_for_a_field_that_cannot_be_empty_is_422_not_a_crash(
        client: TestClient, venue: Venue) -> None:
    created = client.post("/api/schedules/", json=music_rule(venue, "Day", "08:00", "20:00"),
                          headers=venue.account.auth).json()
    for field in ("folder_ids", "priority", "zone_ids", "name"):
        body = assert_problem(client.patch(f"/api/schedules/{created['id']}/",
                                           json={field: None}, headers=venue.account.auth), 422)
        assert field in body["detail"]
