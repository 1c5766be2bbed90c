"""`/api/auth/me/` and `/api/auth/change-password/` through the real app."""

from __future__ import annotations

from datetime import datetime

import httpx
from fastapi.testclient import TestClient

from tests.integration.accounts_helpers import (
    PASSWORD,
    assert_problem,
    assert_unauthorized,
    login,
    signup,
)

NEW_PASSWORD = "a brand new passphrase"


# --- me --------------------------------------------------------------------------------


def test_me_reads_the_new_user_from_the_read_model_after_waiting_for_its_position(
    client: TestClient,
) -> None:
    account = signup(client, phone="0123", timezone="America/New_York")

    response = client.get("/api/auth/me/", headers=account.waiting())

    assert response.status_code == 200, response.text
    row = response.json()
    assert {k: row[k] for k in ("id", "email", "client_id", "role", "phone", "timezone")} == {
        "id": account.user_id, "email": account.email, "client_id": account.client_id,
        "role": "client", "phone": "0123", "timezone": "America/New_York",
    }
    assert row["is_active"] is True and row["last_login"] is not None
    assert datetime.fromisoformat(row["created_at"]) <= datetime.fromisoformat(
        row["updated_at"])


def test_me_refuses_a_wait_position_that_is_not_a_number(client: TestClient) -> None:
    account = signup(client)

    response = client.get("/api/auth/me/",
                          headers={**account.auth, "X-Wait-For-Position": "soon"})

    assert_problem(response, 422)


def test_patch_me_changes_name_phone_and_timezone(client: TestClient) -> None:
    account = signup(client)

    response = client.patch("/api/auth/me/", headers=account.auth, json={
        "name": "  Ann Smith ", "phone": "+1 555 0100", "timezone": "Asia/Tokyo"})

    assert response.status_code == 200, response.text
    assert {k: response.json()[k] for k in ("name", "phone", "timezone")} == {
        "name": "Ann Smith", "phone": "+1 555 0100", "timezone": "Asia/Tokyo"}
    position = int(response.headers["X-Event-Position"])
    row = client.get("/api/auth/me/", headers=account.waiting(position)).json()
    assert (row["name"], row["phone"], row["timezone"]) == (
        "Ann Smith", "+1 555 0100", "Asia/Tokyo")


def test_patch_me_changes_only_the_fields_given(client: TestClient) -> None:
    account = signup(client, phone="0123", timezone="Europe/Paris")

    response = client.patch("/api/auth/me/", headers=account.auth, json={"phone": "0456"})

    assert response.status_code == 200, response.text
    user = response.json()
    assert (user["name"], user["phone"], user["timezone"]) == (
        account.user["name"], "0456", "Europe/Paris")


def test_patch_me_with_an_unknown_timezone_is_refused_and_changes_nothing(
    client: TestClient,
) -> None:
    account = signup(client)

    response = client.patch("/api/auth/me/", headers=account.auth,
                            json={"name": "Changed", "timezone": "Europe/Atlantis"})

    assert "Europe/Atlantis" in assert_problem(response, 422)["detail"]
    row = client.get("/api/auth/me/", headers=account.waiting()).json()
    assert (row["name"], row["timezone"]) == (account.user["name"], "UTC")


def test_patch_me_refuses_an_empty_name_and_a_too_long_phone(client: TestClient) -> None:
    account = signup(client)

    empty = client.patch("/api/auth/me/", headers=account.auth, json={"name": "   "})
    long_phone = client.patch("/api/auth/me/", headers=account.auth, json={"phone": "9" * 51})

    assert ["body", "name"] in [e["loc"] for e in assert_problem(empty, 422)["errors"]]
    assert ["body", "phone"] in [e["loc"] for e in assert_problem(long_phone, 422)["errors"]]


def test_patch_me_ignores_fields_it_does_not_know_such_as_role_and_email(
    client: TestClient,
) -> None:
    account = signup(client)

    response = client.patch("/api/auth/me/", headers=account.auth, json={
        "role": "admin", "email": "eve@example.com", "client_id": None, "name": "Ann B"})

    assert response.status_code == 200, response.text
    user = response.json()
    assert (user["role"], user["email"], user["client_id"], user["name"]) == (
        "client", account.email, account.client_id, "Ann B")
    again = login(client, account.email)
    assert again.user["role"] == "client"


# --- change password -------------------------------------------------------------------


def change_password(client: TestClient, auth: dict[str, str], old: str,
                    new: str) -> httpx.Response:
    return client.post("/api/auth/change-password/", headers=auth,
                       json={"old_password": old, "new_password": new})


def test_change_password_with_a_wrong_current_password_is_a_bad_request(
    client: TestClient,
) -> None:
    account = signup(client)

    response = change_password(client, account.auth, "not my password", NEW_PASSWORD)

    assert "current password" in assert_problem(response, 400)["detail"]
    assert login(client, account.email).user_id == account.user_id


def test_change_password_to_a_weak_one_is_refused(client: TestClient) -> None:
    account = signup(client)

    response = change_password(client, account.auth, PASSWORD, "abc")

    assert_problem(response, 422)
    assert login(client, account.email).user_id == account.user_id


def test_after_changing_the_password_only_the_new_one_logs_in(client: TestClient) -> None:
    account = signup(client)

    response = change_password(client, account.auth, PASSWORD, NEW_PASSWORD)

    assert response.status_code == 200, response.text
    assert response.json()["detail"] == "password changed"
    assert int(response.headers["X-Event-Position"]) > account.position
    # This session carries on with the new pair; its old access token is refused.
    renewed = {"Authorization": f"Bearer {response.json()['access']}"}
    assert client.get("/api/auth/me/", headers=renewed).status_code == 200
    assert_unauthorized(client.get("/api/auth/me/", headers=account.auth))
    assert client.post("/api/auth/refresh/",
                       json={"refresh": response.json()["refresh"]}).status_code == 200
    old = client.post("/api/auth/login/", json={"email": account.email, "password": PASSWORD})
    assert_unauthorized(old)
    assert login(client, account.email, NEW_PASSWORD).user_id == account.user_id


def test_changing_the_password_ends_refresh_tokens_issued_before(client: TestClient) -> None:
    account = signup(client)
    other_session = login(client, account.email)

    change_password(client, account.auth, PASSWORD, NEW_PASSWORD)

    for token in (account.refresh, other_session.refresh):
        response = client.post("/api/auth/refresh/", json={"refresh": token})
        assert "password changed" in assert_unauthorized(response)["detail"]
    fresh = login(client, account.email, NEW_PASSWORD)
    assert client.post("/api/auth/refresh/", json={"refresh": fresh.refresh}).status_code == 200
