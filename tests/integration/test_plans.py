"""Plans through the API: tier limits and an admin's overrides for zones, schedules,
devices and storage; a subscription lapsing at the client's local midnight on a
controllable clock (commands refused with 403 over HTTP and the socket, reads
still answered) and renewed by an admin; all recorded as events with actors."""

from __future__ import annotations

import time as time_module
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient

from application.plans import STANDING_MAX_AGE
from domain.accounts import Role
from domain.plan import TIER_LIMITS
from domain.quota import GB
from infra.bootstrap import Container
from tests.clock import Clock, clocked_container
from tests.integration.accounts_helpers import Account, assert_problem, signup
from tests.integration.admin_helpers import position, stamps, stored_events, sync2gear_user

A = "/api/admin"
AUCKLAND = ZoneInfo("Pacific/Auckland")


@pytest.fixture(scope="module")
def admin(client: TestClient, container: Container) -> Account:
    return sync2gear_user(client, container, Role.ADMIN)


@pytest.fixture
def end() -> date:
    return datetime.now(UTC).date() + timedelta(days=3)


@pytest.fixture
def clock(end: date) -> Clock:
    return Clock(datetime.combine(end, time(12), tzinfo=AUCKLAND).astimezone(UTC))


@pytest.fixture
def clock_container(test_database: str, servers: dict[str, str], redis_prefix: str,
                    tmp_path: Path, clock: Clock) -> Iterator[Container]:
    with clocked_container(test_database, servers, redis_prefix, tmp_path, clock) as container:
        yield container


def patch_client(client: TestClient, admin: Account, account: Account, request_id: str,
                 **body: Any) -> dict[str, Any]:
    response = client.patch(f"{A}/clients/{account.client_id}/", json=body,
                            headers={**admin.auth, "X-Request-ID": request_id})
    assert response.status_code == 200, response.text
    return {**response.json(), "_position": position(response)}


def new_zone(client: TestClient, account: Account, name: str = "Floor") -> Any:
    return client.post("/api/zones/", json={"name": name}, headers=account.auth)


def new_schedule(client: TestClient, account: Account, zone_id: str, folder_id: str) -> Any:
    return client.post("/api/schedules/", headers=account.auth, json={
        "name": f"music {uuid.uuid4().hex[:6]}", "type": "music", "mode": "timeline",
        "folder_ids": [folder_id], "start_time": "08:00", "end_time": "20:00",
        "zone_ids": [zone_id]})


def test_a_new_client_has_its_tiers_limits_and_none_is_overridden(
        client: TestClient, container: Container, admin: Account) -> None:
    ann = signup(client, timezone="Europe/London")
    body = client.get(f"/api/clients/{ann.client_id}/", headers=ann.waiting()).json()
    assert {name: body[name] for name in TIER_LIMITS["basic"]} == TIER_LIMITS["basic"]
    assert all(not limit["overridden"] for limit in body["limits"].values())
    assert (body["timezone"], body["subscription_lapsed"]) == ("Europe/London", False)


def test_overrides_limit_zones_schedules_devices_and_storage_until_reset(
        client: TestClient, container: Container, admin: Account) -> None:
    ann = signup(client)
    changed = patch_client(client, admin, ann, "plan-1", subscription_tier="professional",
                           max_zones=1, max_schedules=1, max_devices=1, max_storage_gb=2)
    assert (changed["max_zones"], changed["limits"]["max_zones"]) == (
        1, {"value": 1, "overridden": True, "tier_default": 50})
    assert changed["limits"]["max_devices"]["overridden"] is True

    zone = new_zone(client, ann)
    assert zone.status_code == 201, zone.text
    refused = assert_problem(new_zone(client, ann, "Bar"), 409)
    assert refused["detail"].startswith("zone limit of this plan reached: 1 of 1")

    made = client.post("/api/music/folders/", json={"name": "Day"}, headers=ann.auth)
    container.wait("library_view", position(made))
    folder = made.json()
    first = new_schedule(client, ann, zone.json()["id"], folder["id"])
    assert first.status_code == 201, first.text
    assert assert_problem(new_schedule(client, ann, zone.json()["id"], folder["id"]),
                          409)["detail"].startswith("schedule limit of this plan reached")

    def register() -> Any:
        return client.post("/api/devices/register/", headers=ann.auth, json={
            "device_id": f"hw-{uuid.uuid4().hex[:10]}", "name": "Till",
            "device_type": "speaker", "zone": zone.json()["id"]})
    assert register().status_code == 201
    assert assert_problem(register(), 409)["detail"] == "device limit reached: 1 of 1"
    usage = client.get(f"{A}/clients/{ann.client_id}/",
                       headers=admin.waiting(changed["_position"])).json()
    assert usage["usage"]["storage_quota_bytes"] == 2 * GB
    assert usage["limits"]["max_storage_gb"] == {"value": 2, "overridden": True,
                                                 "tier_default": 100}

    reset = patch_client(client, admin, ann, "plan-2", reset_limits=["max_zones"])
    assert reset["limits"]["max_zones"] == {"value": 50, "overridden": False,
                                            "tier_default": 50}
    assert new_zone(client, ann, "Bar").status_code == 201
    assert stamps(stored_events(container, ann.client_id))[-2:] == [
        ("Client.SubscriptionChanged", "user", admin.user_id, "plan-1"),
        ("Client.SubscriptionChanged", "user", admin.user_id, "plan-2")]


def pair_device(client: TestClient, account: Account, zone_id: str) -> str:
    code = client.post(f"/api/zones/{zone_id}/pairing-code/", headers=account.auth)
    assert code.status_code == 201, code.text
    paired = client.post("/api/devices/pair/", json={
        "code": code.json()["code"], "device_id": f"hw-{uuid.uuid4().hex[:10]}",
        "name": "Lobby", "device_type": "tablet"})
    assert paired.status_code == 201, paired.text
    token: str = paired.json()["token"]
    return token


def reply(ws: Any) -> dict[str, Any]:
    while True:
        message: dict[str, Any] = ws.receive_json()
        if message["type"] != "zone.state":
            return message


def lapse_job(clock_container: Container, client_id: str) -> int:
    """The leader's step (Container.review_subscriptions) for this client only: other
    tests' clients in the shared database are left to the real clock."""
    today = clock_container.playback.clock().date()
    mine = [c for c in clock_container.accounts_view.clients_to_review(today)
            if c == UUID(client_id)]
    return clock_container.plans.lapse_due(mine)


def test_an_ended_subscription_lapses_at_local_midnight_and_a_renewal_lifts_it(
        client: TestClient, container: Container, clock_container: Container,
        clock: Clock, admin: Account, end: date) -> None:
    ann = signup(client, timezone="Pacific/Auckland")
    zone = new_zone(client, ann).json()
    device_token = pair_device(client, ann, zone["id"])
    ended = patch_client(client, admin, ann, "end-1", subscription_end=end.isoformat())
    container.wait("accounts_view", ended["_position"])

    for local_time in (time(12), time(23, 59, 59)):  # the last day is still paid for
        clock.now = datetime.combine(end, local_time, tzinfo=AUCKLAND).astimezone(UTC)
        assert lapse_job(clock_container, ann.client_id) == 0
    assert client.post("/api/playback/volume/", headers=ann.auth,
                       json={"zone_id": zone["id"], "volume": 40}).status_code == 200
    clock.now = datetime.combine(end + timedelta(days=1), time(0), tzinfo=AUCKLAND
                                 ).astimezone(UTC)
    assert clock.now.date() == end  # still the last day in UTC: the local date decides
    assert lapse_job(clock_container, ann.client_id) == 1
    assert lapse_job(clock_container, ann.client_id) == 0  # recorded once
    # The lapse was saved by the leader's container (another replica): this one
    # trusts the standing it read for at most STANDING_MAX_AGE.
    time_module.sleep(STANDING_MAX_AGE + 0.05)

    refused = assert_problem(client.post("/api/playback/volume/", headers=ann.auth,
                                         json={"zone_id": zone["id"], "volume": 50}), 403)
    assert f"ended on {end}" in refused["detail"] and "renewed" in refused["detail"]
    assert_problem(new_zone(client, ann, "Bar"), 403)
    assert client.get("/api/zones/", headers=ann.auth).status_code == 200
    head = container.accounts.recorder.max_notification_id()
    lapsed = client.get(f"/api/clients/{ann.client_id}/", headers=ann.waiting(head)).json()
    assert (lapsed["subscription_lapsed"], lapsed["lapsed_on"]) == (
        True, str(end + timedelta(days=1)))
    with client.websocket_connect(f"/ws/playback/{zone['id']}/?token={device_token}") as ws:
        ws.receive_json()
        ws.send_json({"type": "pause"})
        message = reply(ws)
        assert (message["type"], message["status"]) == ("error", 403)
        ws.send_json({"type": "heartbeat"})  # devices keep playing and are seen to
        assert reply(ws)["type"] != "error"
    state = client.get(f"/api/zones/{zone['id']}/", headers=ann.auth).json()
    assert state["volume"] == 40  # the zone is as it was

    renewed = patch_client(client, admin, ann, "renew-1",
                           subscription_end=(end + timedelta(days=365)).isoformat())
    assert renewed["subscription_lapsed"] is False
    assert client.post("/api/playback/volume/", headers=ann.auth,
                       json={"zone_id": zone["id"], "volume": 45}).status_code == 200
    assert stamps(stored_events(container, ann.client_id))[-4:] == [
        ("Client.SubscriptionChanged", "user", admin.user_id, "end-1"),
        ("Client.SubscriptionLapsed", "system", "subscriptions",
         f"subscription-review-{end + timedelta(days=1)}"),
        ("Client.SubscriptionChanged", "user", admin.user_id, "renew-1"),
        ("Client.SubscriptionRenewed", "user", admin.user_id, "renew-1")]


def test_the_subscriptions_loop_is_one_of_the_leaders_clocks(container: Container) -> None:
    assert "subscriptions" in {loop.name for loop in container.loops}
