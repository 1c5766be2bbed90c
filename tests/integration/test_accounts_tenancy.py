"""`/api/users/` and `/api/clients/`: the tenancy wall, paging, and racing sign-ups."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from threading import Barrier
from typing import Any
from uuid import UUID

import pytest
from eventsourcing.utils import get_topic as topic_of
from fastapi.testclient import TestClient

from domain.accounts import Role
from domain.base import Actor, CommandContext
from domain.client import Client
from infra.bootstrap import Container
from tests.integration.accounts_helpers import (
    PASSWORD,
    Account,
    all_pages,
    assert_problem,
    assert_unauthorized,
    login,
    signup,
    unique_email,
)

CTX = CommandContext(Actor.system("test"), "t")


def add_user(container: Container, account: Account, name: str) -> tuple[str, int]:
    """Another user of `account`'s client; returns its id and event position."""
    user, position = container.accounts.create_user(
        CTX, email=unique_email(name), password=PASSWORD, name=name, role=Role.CLIENT,
        client_id=UUID(account.client_id),
    )
    assert position is not None
    return str(user.id), position


def staff_member(client: TestClient, container: Container, role: Role) -> Account:
    email = unique_email(role.value)
    container.accounts.create_user(CTX, email=email, password=PASSWORD, name="Root",
                                   role=role, client_id=None)
    return login(client, email)


# --- tenancy ---------------------------------------------------------------------------


def test_a_client_user_cannot_see_another_clients_user_or_client(client: TestClient) -> None:
    ann, bob = signup(client), signup(client)
    wait = ann.waiting(max(ann.position, bob.position))

    user = client.get(f"/api/users/{bob.user_id}/", headers=wait)
    other_client = client.get(f"/api/clients/{bob.client_id}/", headers=wait)

    assert bob.user_id in assert_problem(user, 404)["detail"]
    assert bob.client_id in assert_problem(other_client, 404)["detail"]


def test_a_client_user_sees_its_own_user_and_client(client: TestClient) -> None:
    ann = signup(client, client_name="Ann's Bakery")

    user = client.get(f"/api/users/{ann.user_id}/", headers=ann.waiting())
    own_client = client.get(f"/api/clients/{ann.client_id}/", headers=ann.waiting())

    assert user.status_code == 200 and user.json()["email"] == ann.email
    assert own_client.status_code == 200, own_client.text
    body = own_client.json()
    assert (body["id"], body["name"], body["email"]) == (ann.client_id, "Ann's Bakery",
                                                         ann.email)
    assert (body["subscription_status"], body["subscription_tier"]) == ("active", "basic")


def test_unknown_or_malformed_ids_are_not_found(client: TestClient) -> None:
    ann = signup(client)

    for path in ["/api/users/not-a-uuid/", f"/api/users/{UUID(int=1)}/",
                 "/api/clients/42/", f"/api/clients/{UUID(int=1)}/"]:
        assert_problem(client.get(path, headers=ann.auth), 404)


def test_a_client_users_list_holds_only_its_own_clients_users(
    client: TestClient, container: Container
) -> None:
    ann, bob = signup(client), signup(client)
    colleague, position = add_user(container, ann, "colleague")

    users = all_pages(client, "/api/users/?page_size=200", ann.waiting(position))

    assert {u["id"] for u in users} == {ann.user_id, colleague}
    assert {u["client_id"] for u in users} == {ann.client_id}
    assert bob.user_id not in {u["id"] for u in users}


def test_listing_users_needs_authentication(client: TestClient) -> None:
    assert_unauthorized(client.get("/api/users/"))


@pytest.mark.parametrize("role", [Role.ADMIN, Role.STAFF])
def test_admins_and_staff_see_the_users_and_clients_of_every_client(
    client: TestClient, container: Container, role: Role
) -> None:
    ann, bob = signup(client), signup(client)
    root = staff_member(client, container, role)
    wait = root.waiting(max(ann.position, bob.position, root.position))

    users = all_pages(client, "/api/users/?page_size=200", wait)

    assert {ann.user_id, bob.user_id, root.user_id} <= {u["id"] for u in users}
    for account in (ann, bob):
        user = client.get(f"/api/users/{account.user_id}/", headers=wait)
        assert user.status_code == 200 and user.json()["email"] == account.email
        own = client.get(f"/api/clients/{account.client_id}/", headers=wait)
        assert own.status_code == 200 and own.json()["id"] == account.client_id


# --- paging ----------------------------------------------------------------------------


def test_the_user_list_is_paginated_newest_first(
    client: TestClient, container: Container
) -> None:
    ann = signup(client)
    second, _ = add_user(container, ann, "second")
    third, position = add_user(container, ann, "third")

    first_page = client.get("/api/users/?page_size=2", headers=ann.waiting(position)).json()
    last_page = client.get(first_page["next"], headers=ann.auth).json()

    assert set(first_page) == {"count", "next", "previous", "results"}
    assert first_page["count"] == last_page["count"] == 3
    assert [u["id"] for u in first_page["results"]] == [third, second]
    assert first_page["previous"] is None
    assert "page=2" in first_page["next"] and "page_size=2" in first_page["next"]
    assert [u["id"] for u in last_page["results"]] == [ann.user_id]
    assert last_page["next"] is None
    assert "page=1" in last_page["previous"] and "page_size=2" in last_page["previous"]


def test_a_page_past_the_end_is_empty_but_keeps_the_count(client: TestClient) -> None:
    ann = signup(client)

    page = client.get("/api/users/?page=5&page_size=10", headers=ann.waiting()).json()

    assert (page["count"], page["results"], page["next"]) == (1, [], None)
    assert "page=4" in page["previous"]


@pytest.mark.parametrize("query", ["page=0", "page_size=0", "page_size=201", "page=x"])
def test_out_of_range_paging_is_a_validation_problem(client: TestClient, query: str) -> None:
    ann = signup(client)

    response = client.get(f"/api/users/?{query}", headers=ann.auth)

    assert assert_problem(response, 422)["errors"]


# --- racing sign-ups -------------------------------------------------------------------


def test_racing_signups_with_one_email_create_exactly_one_user(
    client: TestClient, container: Container
) -> None:
    email = unique_email("racer")
    racers = 8
    barrier = Barrier(racers)

    def race(i: int) -> tuple[int, dict[str, Any]]:
        barrier.wait()
        response = client.post("/api/auth/signup/", json={
            "email": email if i % 2 else email.upper(), "password": PASSWORD,
            "name": f"Racer {i}", "client_name": f"Racer {i} Ltd"})
        return response.status_code, response.json()

    with ThreadPoolExecutor(racers) as pool:
        results = list(pool.map(race, range(racers)))

    statuses = sorted(status for status, _ in results)
    assert statuses == [201] + [409] * (racers - 1), results
    [winner] = [body for status, body in results if status == 201]
    stored = container.accounts.find_user_by_email(email)
    assert stored is not None and winner["user"]["id"] == str(stored.id)
    root = staff_member(client, container, Role.ADMIN)
    users = all_pages(client, "/api/users/?page_size=200", root.waiting())
    assert [u["id"] for u in users if u["email"] == email] == [str(stored.id)]
    clients_of_email = [
        n for n in container.accounts.recorder.select_notifications(
            start=1, limit=1_000_000, topics=[topic_of(Client.Registered)])
        if container.accounts.mapper.to_domain_event(n).email == email  # type: ignore[attr-defined]
    ]
    assert len(clients_of_email) == 1
