"""Request ids and event tracing, health and readiness, API docs, malformed bodies."""

from __future__ import annotations

import re
import uuid
from typing import Any
from uuid import UUID

import pytest
from fastapi.testclient import TestClient

from domain.key_index import email_key, index_id
from infra.bootstrap import Container
from tests.integration.accounts_helpers import (
    assert_problem,
    session_id_of,
    signup,
    unique_email,
)

AUTH_PATHS = {
    "/api/auth/signup/", "/api/auth/login/", "/api/auth/refresh/", "/api/auth/logout/",
    "/api/auth/me/", "/api/auth/change-password/", "/api/auth/password-reset/",
    "/api/auth/password-reset/confirm/", "/api/auth/me/avatar/",
}


def stamps(events: list[Any]) -> set[tuple[str, str, str]]:
    return {(e.actor_kind, e.actor_id, e.correlation_id) for e in events}


# --- request ids -----------------------------------------------------------------------


def test_a_given_request_id_is_echoed(client: TestClient) -> None:
    response = client.get("/api/health/", headers={"X-Request-ID": "req-42.a:b_c"})

    assert response.headers["X-Request-ID"] == "req-42.a:b_c"


@pytest.mark.parametrize("given", [None, "", "has spaces", "x" * 129, "semi;colon"])
def test_a_missing_or_unsafe_request_id_is_replaced_by_a_generated_one(
    client: TestClient, given: str | None
) -> None:
    headers = {} if given is None else {"X-Request-ID": given}

    first = client.get("/api/health/", headers=headers).headers["X-Request-ID"]
    second = client.get("/api/health/", headers=headers).headers["X-Request-ID"]

    assert re.fullmatch(r"[0-9a-f]{32}", first) and first != second


@pytest.mark.parametrize("declared", [True, False])
def test_a_json_body_over_the_limit_is_413_with_its_request_id(
    client: TestClient, declared: bool
) -> None:
    owner = signup(client)
    body = b'{"zone_id": "' + b"x" * (1024 * 1024 + 1) + b'"}'
    headers = {**owner.auth, "Content-Type": "application/json", "X-Request-ID": "big-one"}
    if declared:
        response = client.post("/api/playback/next/", content=body, headers=headers)
    else:  # chunked: no Content-Length; refused while it is read
        response = client.post("/api/playback/next/", headers=headers,
                               content=(body[i:i + 65536] for i in range(0, len(body), 65536)))
    problem = assert_problem(response, 413)
    assert "larger than the 1 MB limit" in problem["detail"]
    assert response.headers["X-Request-ID"] == "big-one"


def test_errors_carry_the_request_id_too(client: TestClient) -> None:
    response = client.get("/api/auth/me/", headers={"X-Request-ID": "failing-request"})

    assert response.status_code == 401
    assert response.headers["X-Request-ID"] == "failing-request"


def test_every_event_of_a_signup_names_the_new_user_and_the_request(
    client: TestClient, container: Container
) -> None:
    request_id = f"signup-{uuid.uuid4().hex}"
    email = unique_email()
    response = client.post("/api/auth/signup/", headers={"X-Request-ID": request_id}, json={
        "email": email, "password": "correct horse battery", "name": "Ann",
        "client_name": "Ann's Cafe"})
    assert response.status_code == 201
    body, position = response.json(), int(response.headers["X-Event-Position"])
    aggregate_ids = [UUID(body["user"]["id"]), UUID(body["user"]["client_id"]),
                     index_id(email_key(email)), session_id_of(body["refresh"])]

    events = [e for a in aggregate_ids for e in container.accounts.events.get(a)]

    assert stamps(events) == {("user", body["user"]["id"], request_id)}
    assert sorted(type(e).__qualname__ for e in events) == [
        "Client.Registered", "KeyIndex.Claimed", "Session.Started", "User.LoggedIn",
        "User.Registered"]
    logged = [container.accounts.mapper.to_domain_event(n)
              for n in container.accounts.recorder.select_notifications(
                  start=max(1, position - 50), limit=100, stop=position)]
    assert len([e for e in logged if e.correlation_id == request_id]) == 5  # type: ignore[attr-defined]


def test_events_of_a_users_command_name_that_user_and_the_request(
    client: TestClient, container: Container
) -> None:
    account = signup(client)

    response = client.patch("/api/auth/me/", json={"name": "Renamed"},
                            headers={**account.auth, "X-Request-ID": "rename-1"})

    assert response.headers["X-Request-ID"] == "rename-1"
    [last] = list(container.accounts.events.get(UUID(account.user_id), desc=True, limit=1))
    assert type(last).__qualname__ == "User.ProfileUpdated"
    assert stamps([last]) == {("user", account.user_id, "rename-1")}


def test_events_of_an_anonymous_request_without_an_id_carry_the_generated_one(
    client: TestClient, container: Container
) -> None:
    account = signup(client)

    response = client.post("/api/auth/refresh/", json={"refresh": account.refresh})

    generated = response.headers["X-Request-ID"]
    session = session_id_of(account.refresh)
    [last] = list(container.accounts.events.get(session, desc=True, limit=1))
    assert type(last).__qualname__ == "Session.Rotated"
    assert stamps([last]) == {("user", account.user_id, generated)}


# --- health, readiness, docs -----------------------------------------------------------


def test_health_answers_ok(client: TestClient) -> None:
    response = client.get("/api/health/")

    assert response.status_code == 200 and response.json() == {"status": "ok"}


def test_ready_checks_postgres_redis_and_projection_lag(client: TestClient) -> None:
    response = client.get("/api/ready/")

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "ready"
    assert (body["checks"]["postgres"], body["checks"]["redis"]) == ("ok", "ok")
    lag = body["checks"]["projection_lag"]
    assert "accounts_view_v2" in lag  # the users view at version 2 (avatars)
    assert all(isinstance(v, int) and v >= 0 for v in lag.values())


def test_the_openapi_document_lists_every_auth_path_with_a_trailing_slash(
    client: TestClient,
) -> None:
    response = client.get("/api/openapi.json")

    assert response.status_code == 200
    paths = response.json()["paths"]
    assert {p for p in paths if p.startswith("/api/auth/")} == AUTH_PATHS
    accounts = [p for p in paths if p.startswith(("/api/auth/", "/api/users/", "/api/clients/"))]
    assert all(p.endswith("/") for p in accounts)
    assert {"/api/health/", "/api/ready/"} <= set(paths)
    assert {"/api/users/", "/api/users/{user_id}/", "/api/clients/{client_id}/"} <= set(paths)
    assert set(paths["/api/auth/me/"]) == {"get", "patch"}
    assert "409" in paths["/api/auth/signup/"]["post"]["responses"]


@pytest.mark.parametrize("path", ["/api/docs", "/api/redoc"])
def test_the_api_docs_are_served_as_html(client: TestClient, path: str) -> None:
    response = client.get(path)

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "/api/openapi.json" in response.text


def test_an_unknown_path_is_a_not_found_problem(client: TestClient) -> None:
    assert_problem(client.get("/api/nothing-here/"), 404)


def test_a_wrong_method_is_a_method_not_allowed_problem(client: TestClient) -> None:
    assert_problem(client.get("/api/auth/login/"), 405)


# --- malformed bodies ------------------------------------------------------------------


@pytest.mark.parametrize("path", sorted(AUTH_PATHS - {"/api/auth/me/"}))
@pytest.mark.parametrize("content", [b'{"email": ', b"not json at all", b"{'single': 1}"])
def test_a_body_that_is_not_json_is_a_validation_problem(
    client: TestClient, path: str, content: bytes
) -> None:
    response = client.post(path, content=content, headers={"Content-Type": "application/json"})

    body = assert_problem(response, 422)
    assert body["errors"] and body["errors"][0]["loc"][0] == "body"


@pytest.mark.parametrize("content", [b"[]", b'"text"', b"42", b"null", b'{"email": 5}',
                                     b'{"email": "a@example.com", "password": null}'])
def test_json_of_the_wrong_shape_is_a_validation_problem(
    client: TestClient, content: bytes
) -> None:
    response = client.post("/api/auth/login/", content=content,
                           headers={"Content-Type": "application/json"})

    assert assert_problem(response, 422)["errors"]


def test_a_malformed_body_for_an_authenticated_route_is_a_validation_problem(
    client: TestClient,
) -> None:
    account = signup(client)

    response = client.patch("/api/auth/me/", content=b"{oops",
                            headers={**account.auth, "Content-Type": "application/json"})

    assert_problem(response, 422)


@pytest.mark.parametrize("content", [b"\x80\x81\xfe", b""])
def test_an_undecodable_or_empty_body_is_refused_without_a_server_error(
    client: TestClient, content: bytes
) -> None:
    response = client.post("/api/auth/login/", content=content,
                           headers={"Content-Type": "application/json"})

    assert_problem(response, response.status_code)
    assert response.status_code in (400, 422)
