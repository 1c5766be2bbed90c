"""`/api/admin/`: who may read and change, and every change an event of the admin.

Client users get 403 on every route (even for their own client), staff read but
get 403 on changes, admins do both; each change is read back from the event
store with the admin as actor and the request's id as correlation id.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient

from domain.accounts import Role
from infra.bootstrap import Container
from tests.integration.accounts_helpers import (
    PASSWORD,
    Account,
    assert_problem,
    assert_unauthorized,
    signup,
    unique_email,
)
from tests.integration.admin_helpers import position, stamps, stored_events, sync2gear_user

A = "/api/admin"


@pytest.fixture(scope="module")
def admin(client: TestClient, container: Container) -> Account:
    return sync2gear_user(client, container, Role.ADMIN)


@pytest.fixture(scope="module")
def staff(client: TestClient, container: Container) -> Account:
    return sync2gear_user(client, container, Role.STAFF)


def routes(target: Account) -> list[tuple[str, str, dict[str, Any] | None]]:
    """Every admin route, aimed at `target`'s own client and user, with valid bodies."""
    cid, uid = target.client_id, target.user_id
    return [
        ("GET", f"{A}/clients/", None), ("GET", f"{A}/clients/{cid}/", None),
        ("GET", f"{A}/users/", None), ("GET", f"{A}/users/{uid}/", None),
        ("GET", f"{A}/stats/", None), ("GET", f"{A}/storage/", None),
        ("GET", f"{A}/devices/", None),
        ("POST", f"{A}/clients/", {"name": "Sneaky", "email": unique_email("sneaky")}),
        ("PATCH", f"{A}/clients/{cid}/", {"subscription_tier": "enterprise",
                                          "max_devices": 500}),
        ("DELETE", f"{A}/clients/{cid}/", None),
        ("POST", f"{A}/users/", {"email": unique_email("x"), "password": PASSWORD,
                                 "name": "X", "role": "admin"}),
        ("PATCH", f"{A}/users/{uid}/", {"role": "admin"}),
        ("DELETE", f"{A}/users/{uid}/", None),
    ]


def call(client: TestClient, who: Account | None, method: str, path: str,
         body: dict[str, Any] | None, wait_for: int | None = None) -> Any:
    """`wait_for` is an accounts position: the devices list waits for devices ones."""
    headers = {} if who is None else who.auth
    if who and not path.endswith("/devices/"):
        headers = who.waiting(wait_for)
    return client.request(method, path, json=body, headers=headers)


def versions(container: Container, target: Account) -> tuple[int, int]:
    return (container.accounts.get_client(uuid.UUID(target.client_id)).version,
            container.accounts.get_user(uuid.UUID(target.user_id)).version)


def test_client_users_get_403_on_every_admin_route_even_for_their_own_client(
    client: TestClient, container: Container
) -> None:
    ann = signup(client)
    before = versions(container, ann)

    for method, path, body in routes(ann):
        response = call(client, ann, method, path, body)
        assert "admin" in assert_problem(response, 403)["detail"], (method, path)

    assert versions(container, ann) == before


def test_the_role_is_checked_before_the_body(client: TestClient) -> None:
    ann = signup(client)

    assert_problem(client.post(f"{A}/clients/", json={"max_devices": -1}, headers=ann.auth), 403)
    assert_problem(client.post(f"{A}/users/", json={}, headers=ann.auth), 403)


def test_staff_read_every_admin_route_but_change_nothing(
    client: TestClient, container: Container, staff: Account
) -> None:
    ann = signup(client)
    before = versions(container, ann)
    for method, path, body in routes(ann):
        response = call(client, staff, method, path, body, wait_for=ann.position)
        if method == "GET":
            assert response.status_code == 200, (path, response.text)
        else:
            assert_problem(response, 403)

    assert versions(container, ann) == before


def test_every_admin_route_needs_authentication(client: TestClient) -> None:
    ann = signup(client)
    for method, path, body in routes(ann):
        assert_unauthorized(call(client, None, method, path, body))


def test_an_admin_creates_a_client_and_a_user_of_it_as_events_of_the_admin(
    client: TestClient, container: Container, admin: Account
) -> None:
    email = unique_email("owner")
    headers = {**admin.auth, "X-Request-ID": "create-client-1"}
    created = client.post(f"{A}/clients/", headers=headers, json={
        "name": " Gym Co ", "email": email.upper(), "subscription_tier": "professional",
        "subscription_start": "2025-01-01", "subscription_end": "2025-12-31",
        "max_devices": 12, "max_storage_gb": 50})
    assert created.status_code == 201, created.text
    body = created.json()
    assert (body["name"], body["email"], body["subscription_tier"]) == (
        "Gym Co", email, "professional")
    assert (body["subscription_end"], body["max_devices"]) == ("2025-12-31", 12)
    user = client.post(f"{A}/users/", headers={**admin.auth, "X-Request-ID": "create-user-1"},
                       json={"email": email, "password": PASSWORD, "name": "Owner",
                             "client_id": body["id"]})
    assert user.status_code == 201, user.text

    assert stamps(stored_events(container, body["id"])) == [
        ("Client.Registered", "user", admin.user_id, "create-client-1"),
        ("Client.SubscriptionChanged", "user", admin.user_id, "create-client-1"),
    ]
    assert stamps(stored_events(container, user.json()["id"])) == [
        ("User.Registered", "user", admin.user_id, "create-user-1")]
    login = client.post("/api/auth/login/", json={"email": email, "password": PASSWORD})
    assert login.status_code == 200 and login.json()["user"]["client_id"] == body["id"]
    listed = client.get(f"{A}/clients/{body['id']}/", headers=admin.waiting(position(user)))
    assert listed.json()["usage"]["users"] == 1


def test_subscription_changes_and_suspension_are_events_and_suspension_blocks_login(
    client: TestClient, container: Container, admin: Account
) -> None:
    ann = signup(client)
    url = f"{A}/clients/{ann.client_id}/"

    changed = client.patch(url, headers={**admin.auth, "X-Request-ID": "upgrade-1"}, json={
        "name": "Ann's Cafes", "subscription_tier": "enterprise", "max_devices": 40,
        "subscription_status": "suspended"})
    assert changed.status_code == 200, changed.text
    login = client.post("/api/auth/login/", json={"email": ann.email, "password": PASSWORD})
    restored = client.patch(url, headers=admin.auth, json={"subscription_status": "active"})
    again = client.post("/api/auth/login/", json={"email": ann.email, "password": PASSWORD})

    assert stamps(stored_events(container, ann.client_id))[-4:] == [
        ("Client.DetailsChanged", "user", admin.user_id, "upgrade-1"),
        ("Client.SubscriptionChanged", "user", admin.user_id, "upgrade-1"),
        ("Client.StatusChanged", "user", admin.user_id, "upgrade-1"),
        ("Client.StatusChanged", "user", admin.user_id, restored.headers["X-Request-ID"]),
    ]
    assert "suspended" in assert_problem(login, 403)["detail"]
    assert again.status_code == 200
    row = client.get(url, headers=admin.waiting(position(restored))).json()
    assert (row["name"], row["subscription_tier"], row["max_devices"],
            row["subscription_status"]) == ("Ann's Cafes", "enterprise", 40, "active")


def test_deleting_a_client_cancels_it_and_keeps_everything(
    client: TestClient, container: Container, admin: Account
) -> None:
    ann = signup(client)

    first = client.delete(f"{A}/clients/{ann.client_id}/", headers=admin.auth)
    second = client.delete(f"{A}/clients/{ann.client_id}/", headers=admin.auth)

    assert (first.status_code, second.status_code) == (204, 204)
    events = stored_events(container, ann.client_id)
    assert [type(e).__qualname__ for e in events].count("Client.StatusChanged") == 1
    assert events[-1].status == "cancelled" and events[-1].actor_id == admin.user_id
    wait = admin.waiting(position(first))
    assert client.get(f"{A}/clients/{ann.client_id}/", headers=wait).json()[
        "subscription_status"] == "cancelled"
    cancelled = client.get(f"{A}/clients/?status=cancelled&search={ann.email}", headers=wait)
    assert [c["id"] for c in cancelled.json()["results"]] == [ann.client_id]
    assert client.get(f"{A}/users/{ann.user_id}/", headers=wait).json()["is_active"]
    assert_problem(client.post("/api/auth/login/", json={"email": ann.email,
                                                         "password": PASSWORD}), 403)


def test_deleting_a_user_deactivates_it_and_a_role_change_is_an_event(
    client: TestClient, container: Container, admin: Account
) -> None:
    ann = signup(client)
    url = f"{A}/users/{ann.user_id}/"

    promoted = client.patch(url, headers=admin.auth, json={"role": "staff", "name": "Ann S"})
    deleted = client.delete(url, headers=admin.auth)

    assert promoted.status_code == 200 and promoted.json()["role"] == "staff"
    assert deleted.status_code == 204
    assert stamps(stored_events(container, ann.user_id))[-3:] == [
        ("User.ProfileUpdated", "user", admin.user_id, promoted.headers["X-Request-ID"]),
        ("User.RoleChanged", "user", admin.user_id, promoted.headers["X-Request-ID"]),
        ("User.ActiveChanged", "user", admin.user_id, deleted.headers["X-Request-ID"]),
    ]
    row = client.get(url, headers=admin.waiting(position(deleted))).json()
    assert (row["role"], row["is_active"], row["name"]) == ("staff", False, "Ann S")
    assert_problem(client.post("/api/auth/login/", json={"email": ann.email,
                                                         "password": PASSWORD}), 403)
    assert_problem(client.post("/api/auth/refresh/", json={"refresh": ann.refresh}), 403)


def test_an_admin_cannot_lock_themselves_out(
    client: TestClient, container: Container
) -> None:
    root = sync2gear_user(client, container, Role.ADMIN)
    url = f"{A}/users/{root.user_id}/"
    version = container.accounts.get_user(uuid.UUID(root.user_id)).version

    demote = client.patch(url, headers=root.auth, json={"role": "staff"})
    delete = client.delete(url, headers=root.auth)
    renamed = client.patch(url, headers=root.auth, json={"name": "Root", "role": "admin"})

    assert "your own" in assert_problem(demote, 403)["detail"]
    assert_problem(delete, 403)
    assert renamed.status_code == 200
    assert container.accounts.get_user(uuid.UUID(root.user_id)).version == version + 1


@pytest.mark.parametrize("path, body, status, field", [
    ("clients/{cid}/", {"subscription_start": "2025-06-01", "subscription_end": "2025-05-01"},
     422, "subscription_end"),
    ("clients/{cid}/", {"max_devices": -1}, 422, "max_devices"),
    ("clients/{cid}/", {"max_storage_gb": 10**9}, 422, "max_storage_gb"),
    ("clients/{cid}/", {"subscription_tier": "gold"}, 422, "subscription_tier"),
    ("clients/{cid}/", {"colour": "red"}, 422, "colour"),
    ("users/{uid}/", {"email": "new@example.com"}, 422, "email"),
    ("users/{uid}/", {"timezone": "Mars/Olympus"}, 422, "timezone"),
    (f"clients/{uuid.UUID(int=7)}/", {"name": "Ghost"}, 404, None),
    (f"users/{uuid.UUID(int=7)}/", {"name": "Ghost"}, 404, None),
])
def test_invalid_changes_are_refused_and_record_nothing(
    client: TestClient, container: Container, admin: Account, path: str,
    body: dict[str, Any], status: int, field: str | None
) -> None:
    ann = signup(client)
    before = versions(container, ann)

    response = client.patch(f"{A}/" + path.format(cid=ann.client_id, uid=ann.user_id),
                            json=body, headers=admin.auth)

    problem = assert_problem(response, status)
    if field:
        assert field in {str(part) for e in problem["errors"] for part in e["loc"]}
    assert versions(container, ann) == before


def test_creating_users_checks_the_email_and_the_client(
    client: TestClient, admin: Account
) -> None:
    ann = signup(client)
    body = {"email": ann.email, "password": PASSWORD, "name": "Dup", "client_id": ann.client_id}
    no_client = {**body, "email": unique_email("loose"), "client_id": None}
    ghost = {**body, "email": unique_email("ghost"), "client_id": str(uuid.UUID(int=9))}

    assert_problem(client.post(f"{A}/users/", json=body, headers=admin.auth), 409)
    missing = assert_problem(client.post(f"{A}/users/", json=no_client, headers=admin.auth), 422)
    assert missing["errors"][0]["loc"] == ["body", "client_id"]
    assert_problem(client.post(f"{A}/users/", json=ghost, headers=admin.auth), 404)
    staff = {**no_client, "role": "staff"}
    assert client.post(f"{A}/users/", json=staff, headers=admin.auth).status_code == 201


@pytest.mark.parametrize("body", [{"name": "Bad\x00Name"}, {"phone": "12\n34"}])
def test_control_characters_are_refused_before_they_reach_the_read_model(
    client: TestClient, admin: Account, body: dict[str, Any]
) -> None:
    create = {"name": "Shop", "email": unique_email("ctl"), **body}

    assert_problem(client.post(f"{A}/clients/", json=create, headers=admin.auth), 422)
    assert_problem(client.get(f"{A}/users/", params={"search": "a\x00"},
                              headers=admin.auth), 422)


def test_every_admin_route_is_documented_with_its_problems(client: TestClient) -> None:
    document = client.get("/api/openapi.json").json()
    operations = [(path, method, op) for path, item in document["paths"].items()
                  if path.startswith(f"{A}/") for method, op in item.items()]

    assert len(operations) == 13
    for path, method, op in operations:
        assert op["summary"] and op["tags"] == ["admin"], (method, path)
        for code in ("401", "403"):
            assert "application/problem+json" in op["responses"][code]["content"], (path, code)
