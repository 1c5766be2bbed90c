"""`/api/admin/` across tenants: two clients with users, zones, devices and music;
per-client numbers, lists filtered by client, and statistics that equal the sums."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from fastapi.testclient import TestClient

from domain.accounts import Role
from domain.quota import GB
from infra.bootstrap import Container
from tests.audio_factory import make_wav
from tests.integration.accounts_helpers import (
    PASSWORD,
    Account,
    all_pages,
    login,
    signup,
    unique_email,
)
from tests.integration.admin_helpers import CLI, position, sync2gear_user

A = "/api/admin"


@dataclass
class Tenant:
    """A client signed up through the API and what was made for it."""

    owner: Account
    users: int = 1
    zones: list[str] = field(default_factory=list)
    devices: list[str] = field(default_factory=list)
    online: int = 0
    stored_bytes: int = 0
    waits: dict[str, int] = field(default_factory=dict)  # read model -> position

    @property
    def client_id(self) -> str:
        return self.owner.client_id


def build_tenant(client: TestClient, container: Container, tmp: Path, *, users: int,
                 zones: int, devices: int, online: int, tracks: int) -> Tenant:
    t = Tenant(signup(client, client_name=f"Tenant {uuid.uuid4().hex[:6]}"))
    auth = t.owner.auth
    for _ in range(users - 1):
        container.accounts.create_user(CLI, email=unique_email("staffer"), password=PASSWORD,
                                       name="Staffer", role=Role.CLIENT,
                                       client_id=UUID(t.client_id))
        t.users += 1
    for i in range(zones):
        zone = client.post("/api/zones/", json={"name": f"Zone {i}"}, headers=auth)
        assert zone.status_code == 201, zone.text
        t.zones.append(zone.json()["id"])
        t.waits["zones"] = position(zone)
    for i in range(devices):
        device = client.post("/api/devices/register/", headers=auth, json={
            "device_id": f"hw-{uuid.uuid4().hex}", "name": f"Speaker {i}",
            "device_type": "speaker", "zone": t.zones[i % zones]})
        assert device.status_code == 201, device.text
        t.devices.append(device.json()["id"])
        t.waits["devices"] = position(device)
    for device_id in t.devices[:online]:
        beat = client.post(f"/api/devices/{device_id}/heartbeat/", headers=auth)
        assert beat.status_code == 200, beat.text
        t.waits["devices"] = position(beat)
        t.online += 1
    for i in range(tracks):
        path = make_wav(tmp / f"{uuid.uuid4().hex}.wav", 1 + i, freq=300 + 50 * i)
        up = client.post("/api/music/upload/", headers=auth, files=[
            ("files", (path.name, path.read_bytes(), "audio/wav"))])
        assert up.status_code == 201, up.text
        t.stored_bytes += up.json()["created"][0]["file_size"]
        t.waits["library"] = position(up)
    return t


def settle(container: Container, tenants: list[Tenant]) -> None:
    """Wait until every read model has what the tenants' commands stored."""
    for t in tenants:
        container.wait("accounts_view", t.owner.position)
        container.wait("zones_view", t.waits.get("zones"))
        container.wait("devices_view", t.waits.get("devices"))
        container.wait("library_view", t.waits.get("library"))


def stats(client: TestClient, who: Account) -> dict[str, Any]:
    response = client.get(f"{A}/stats/", headers=who.auth)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


@pytest.fixture(scope="module")
def staff(client: TestClient, container: Container) -> Account:
    return sync2gear_user(client, container, Role.STAFF)


def test_per_client_numbers_are_each_clients_own_and_stats_add_them_up(
    client: TestClient, container: Container, staff: Account, tmp_path: Path
) -> None:
    before = stats(client, staff)
    a = build_tenant(client, container, tmp_path, users=3, zones=1, devices=2, online=1,
                     tracks=2)
    b = build_tenant(client, container, tmp_path, users=1, zones=2, devices=3, online=2,
                     tracks=1)
    settle(container, [a, b])
    after = stats(client, staff)

    for t in (a, b):
        usage = client.get(f"{A}/clients/{t.client_id}/", headers=staff.auth).json()["usage"]
        assert usage == {
            "users": t.users, "active_users": t.users, "zones": len(t.zones),
            "devices": len(t.devices), "devices_online": t.online,
            "storage_used_bytes": t.stored_bytes, "storage_quota_bytes": 10 * GB,
        }
        assert t.stored_bytes == container.library.used_bytes(UUID(t.client_id)) > 0
        storage = client.get(f"{A}/storage/?client_id={t.client_id}", headers=staff.auth)
        assert [(r["client_id"], r["used_bytes"], r["over_quota"])
                for r in storage.json()["results"]] == [(t.client_id, t.stored_bytes, False)]
        devices = all_pages(client, f"{A}/devices/?client_id={t.client_id}", staff.auth)
        assert sorted(d["id"] for d in devices) == sorted(t.devices)
        assert sum(d["is_online"] for d in devices) == t.online
        users = all_pages(client, f"{A}/users/?client_id={t.client_id}", staff.auth)
        assert {u["client_id"] for u in users} == {t.client_id} and len(users) == t.users

    def grew(*keys: str) -> int:
        new, old = after, before
        for k in keys:
            new, old = new[k], old[k]
        return int(new) - int(old)

    assert grew("clients", "total") == grew("clients", "by_tier", "basic") == 2
    assert grew("users", "total") == grew("users", "by_role", "client") == a.users + b.users
    assert grew("zones") == len(a.zones) + len(b.zones)
    assert grew("devices", "total") == len(a.devices) + len(b.devices)
    assert grew("storage", "used_bytes") == a.stored_bytes + b.stored_bytes
    # each sign-up stores 5 events (client, user, email index, login, session)
    assert grew("events_stored", "accounts") >= 5 * 2 + (a.users - 1) * 2


def test_stats_equal_the_sums_of_the_admin_lists(
    client: TestClient, container: Container, staff: Account, tmp_path: Path
) -> None:
    settle(container, [build_tenant(client, container, tmp_path, users=2, zones=1,
                                    devices=1, online=1, tracks=1)])
    s = stats(client, staff)
    clients = all_pages(client, f"{A}/clients/?page_size=200", staff.auth)
    storage = all_pages(client, f"{A}/storage/?page_size=200", staff.auth)
    users = client.get(f"{A}/users/?page_size=1", headers=staff.auth).json()
    devices = client.get(f"{A}/devices/?page_size=1", headers=staff.auth).json()
    online = client.get(f"{A}/devices/?is_online=true&page_size=1", headers=staff.auth).json()

    assert s["clients"]["total"] == len(clients) == sum(s["clients"]["by_tier"].values())
    assert sum(s["clients"]["by_status"].values()) == len(clients)
    assert s["clients"]["active"] == sum(
        c["is_active"] and c["subscription_status"] == "active" for c in clients)
    assert s["users"]["total"] == users["count"] == sum(s["users"]["by_role"].values())
    assert s["devices"]["total"] == devices["count"]
    assert s["devices"]["online"] == online["count"]
    assert s["devices"]["offline"] == s["devices"]["total"] - s["devices"]["online"]
    assert s["storage"]["used_bytes"] == sum(r["used_bytes"] for r in storage)
    assert s["events_stored"]["total"] == sum(
        n for app, n in s["events_stored"].items() if app != "total")
    assert {"accounts", "library", "playback", "devices"} <= set(s["events_stored"])


def test_events_stored_is_the_number_of_rows_in_each_event_store(
    client: TestClient, container: Container, staff: Account
) -> None:
    signup(client)
    s = stats(client, staff)
    for app in (container.accounts, container.devices):
        stored = app.recorder.select_notifications(start=1, limit=10**9)
        assert s["events_stored"][app.name] == len(stored)


def test_lists_filter_by_tier_status_role_and_search_and_page(
    client: TestClient, container: Container, staff: Account
) -> None:
    admin = sync2gear_user(client, container, Role.ADMIN)
    token = uuid.uuid4().hex[:10]
    made = []
    for tier in ("basic", "professional", "enterprise"):
        r = client.post(f"{A}/clients/", headers=admin.auth, json={
            "name": f"Shop {token} {tier}", "email": unique_email(tier),
            "subscription_tier": tier})
        assert r.status_code == 201, r.text
        made.append(r)
    suspended = client.patch(f"{A}/clients/{made[0].json()['id']}/", headers=admin.auth,
                             json={"subscription_status": "suspended"})
    wait = staff.waiting(position(suspended))

    def ids(url: str) -> list[str]:
        return [c["id"] for c in all_pages(client, url, wait)]

    every = ids(f"{A}/clients/?search={token.upper()}&page_size=2")
    assert every == [r.json()["id"] for r in reversed(made)]  # newest first, across pages
    assert ids(f"{A}/clients/?search={token}&tier=enterprise") == [made[2].json()["id"]]
    assert ids(f"{A}/clients/?search={token}&status=suspended") == [made[0].json()["id"]]
    assert ids(f"{A}/clients/?search={token[:4]}%25") == []  # % is a character, no wildcard
    assert ids(f"{A}/clients/?search={token}&is_active=false") == []
    staffer = login(client, staff.email)
    by_email = ids(f"{A}/users/?search={staff.email[:-4].upper()}&role=staff")
    assert by_email == [staffer.user_id]
    assert ids(f"{A}/users/?role=admin&search={admin.email}") == [admin.user_id]
    page = client.get(f"{A}/clients/?search={token}&page_size=2", headers=wait).json()
    assert page["count"] == 3 and "page=2" in page["next"]
