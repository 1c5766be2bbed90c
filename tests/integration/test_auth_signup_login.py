"""Sign-up and login through the real app, PostgreSQL and Redis."""

from __future__ import annotations

from uuid import UUID

import pytest
from fastapi.testclient import TestClient

from domain.accounts import SubscriptionStatus
from domain.base import Actor, CommandContext
from infra.bootstrap import Container
from tests.integration.accounts_helpers import (
    PASSWORD,
    assert_problem,
    assert_unauthorized,
    claims_of,
    login,
    signup,
    unique_email,
)


def signup_body(**changes: str) -> dict[str, str]:
    return {"email": unique_email(), "password": PASSWORD, "name": "Ann",
            "client_name": "Ann's Cafe", **changes}


# --- sign-up ---------------------------------------------------------------------------


def test_signup_creates_a_client_and_its_user_and_logs_them_in(client: TestClient) -> None:
    email = unique_email("Ann.SignUp").replace("example.com", "Example.COM")
    response = client.post("/api/auth/signup/", json=signup_body(
        email=email, name="  Ann Example ", phone="+44 20 7946 0000", timezone="Europe/London",
    ))

    assert response.status_code == 201, response.text
    assert int(response.headers["X-Event-Position"]) > 0
    body = response.json()
    assert set(body) == {"access", "refresh", "user"}
    user = body["user"]
    assert user["email"] == email.lower()
    assert user["name"] == "Ann Example"
    assert (user["role"], user["phone"], user["timezone"]) == (
        "client", "+44 20 7946 0000", "Europe/London")
    assert user["is_active"] is True and user["last_login"] is not None
    UUID(user["client_id"])
    access, refresh = claims_of(body["access"]), claims_of(body["refresh"])
    assert (access["type"], access["sub"], access["cid"]) == ("access", user["id"],
                                                              user["client_id"])
    assert (refresh["type"], refresh["sub"]) == ("refresh", user["id"])


def test_signup_tokens_authenticate_the_new_user(client: TestClient) -> None:
    account = signup(client)

    response = client.get("/api/auth/me/", headers=account.waiting())

    assert response.status_code == 200, response.text
    assert response.json()["id"] == account.user_id


def test_signup_with_a_registered_email_is_a_conflict(client: TestClient) -> None:
    account = signup(client)

    response = client.post("/api/auth/signup/", json=signup_body(email=account.email))

    assert "already exists" in assert_problem(response, 409)["detail"]


def test_signup_with_a_registered_email_in_other_letter_case_is_a_conflict(
    client: TestClient,
) -> None:
    account = signup(client, email=unique_email("casey"))
    shouted = account.email.upper()

    response = client.post("/api/auth/signup/", json=signup_body(email=shouted))

    assert_problem(response, 409)


@pytest.mark.parametrize("email", ["not-an-email", "ann@", "@example.com", ""])
def test_signup_with_an_invalid_email_is_a_validation_problem(
    client: TestClient, email: str
) -> None:
    response = client.post("/api/auth/signup/", json=signup_body(email=email))

    body = assert_problem(response, 422)
    assert ["body", "email"] in [e["loc"] for e in body["errors"]]
    assert all(set(e) == {"loc", "msg"} for e in body["errors"])


def test_signup_without_required_fields_lists_each_missing_field(client: TestClient) -> None:
    response = client.post("/api/auth/signup/", json={"email": unique_email()})

    body = assert_problem(response, 422)
    locs = [e["loc"] for e in body["errors"]]
    assert ["body", "password"] in locs and ["body", "name"] in locs
    assert ["body", "client_name"] in locs
    assert "client_name" in body["detail"]


@pytest.mark.parametrize("password", ["short", "aaaaaaaaaaaa", "        "])
def test_signup_with_a_weak_password_is_refused(client: TestClient, password: str) -> None:
    body = signup_body(password=password)

    response = client.post("/api/auth/signup/", json=body)

    assert "password" in assert_problem(response, 422)["detail"]
    assert client.post("/api/auth/login/", json={
        "email": body["email"], "password": password}).status_code == 401


def test_signup_with_an_unknown_timezone_is_refused(client: TestClient) -> None:
    response = client.post("/api/auth/signup/", json=signup_body(timezone="Mars/Olympus"))

    assert "Mars/Olympus" in assert_problem(response, 422)["detail"]


@pytest.mark.parametrize(("field", "value"), [("password", "short"), ("timezone", "Nowhere")])
def test_domain_validation_problems_name_the_field_in_errors(
    client: TestClient, field: str, value: str
) -> None:
    response = client.post("/api/auth/signup/", json=signup_body(**{field: value}))

    body = assert_problem(response, 422)
    assert ["body", field] in [e["loc"] for e in body["errors"]]


# --- login -----------------------------------------------------------------------------


def test_login_with_the_right_password_returns_a_new_token_pair(client: TestClient) -> None:
    account = signup(client)

    again = login(client, account.email)

    assert again.user_id == account.user_id
    assert again.refresh != account.refresh
    assert claims_of(again.refresh)["sid"] != claims_of(account.refresh)["sid"]
    assert again.position > account.position


def test_login_ignores_the_letter_case_of_the_email(client: TestClient) -> None:
    account = signup(client)

    again = login(client, account.email.upper())

    assert again.user_id == account.user_id


def test_login_with_a_wrong_password_is_unauthorized(client: TestClient) -> None:
    account = signup(client)

    response = client.post("/api/auth/login/", json={"email": account.email,
                                                     "password": "wrong password!"})

    assert "credentials" in assert_unauthorized(response)["detail"]


def test_login_with_an_unknown_email_looks_like_a_wrong_password(client: TestClient) -> None:
    account = signup(client)
    wrong = client.post("/api/auth/login/", json={"email": account.email, "password": "nope!!!"})

    unknown = client.post("/api/auth/login/", json={"email": unique_email("ghost"),
                                                    "password": PASSWORD})

    assert assert_unauthorized(unknown)["detail"] == assert_unauthorized(wrong)["detail"]


def test_login_is_rate_limited_per_address_and_email(client: TestClient) -> None:
    account = signup(client)
    wrong = {"email": account.email, "password": "not the password"}
    statuses = [client.post("/api/auth/login/", json=wrong).status_code for _ in range(10)]

    limited = client.post("/api/auth/login/", json={**wrong, "password": PASSWORD})
    other = signup(client)
    unaffected = client.post("/api/auth/login/", json={"email": other.email,
                                                       "password": PASSWORD})

    assert statuses == [401] * 10
    assert "too many attempts" in assert_problem(limited, 429)["detail"]
    assert 1 <= int(limited.headers["Retry-After"]) <= 60
    same_email_shouted = client.post("/api/auth/login/", json={**wrong,
                                                               "email": account.email.upper()})
    assert same_email_shouted.status_code == 429
    assert unaffected.status_code == 200, unaffected.text


@pytest.mark.parametrize("status", [SubscriptionStatus.SUSPENDED, SubscriptionStatus.CANCELLED])
def test_users_of_a_suspended_or_cancelled_client_cannot_log_in_or_refresh(
    client: TestClient, container: Container, status: SubscriptionStatus
) -> None:
    account = signup(client)
    ctx = CommandContext(Actor.system("test"), "t")
    container.accounts.change_client_status(ctx, UUID(account.client_id), status)

    login_response = client.post("/api/auth/login/", json={"email": account.email,
                                                           "password": PASSWORD})
    refresh_response = client.post("/api/auth/refresh/", json={"refresh": account.refresh})

    detail = assert_problem(login_response, 403)["detail"]
    assert status.value in detail and "contact sync2gear support" in detail
    assert status.value in assert_problem(refresh_response, 403)["detail"]


def test_users_of_a_reactivated_client_can_log_in_again(
    client: TestClient, container: Container
) -> None:
    account = signup(client)
    ctx = CommandContext(Actor.system("test"), "t")
    container.accounts.change_client_status(ctx, UUID(account.client_id),
                                            SubscriptionStatus.SUSPENDED)
    container.accounts.change_client_status(ctx, UUID(account.client_id),
                                            SubscriptionStatus.ACTIVE)

    assert login(client, account.email).user_id == account.user_id
