"""Refresh-token rotation, reuse detection, expiry and logout through the real app."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from threading import Barrier

import httpx
import jwt
from fastapi.testclient import TestClient

from infra.settings import Settings
from tests.integration.accounts_helpers import (
    Account,
    account_of,
    assert_unauthorized,
    claims_of,
    signup,
)
from tests.integration.conftest import AppFactory


def refresh(client: TestClient, account: Account) -> Account:
    response = client.post("/api/auth/refresh/", json={"refresh": account.refresh})
    assert response.status_code == 200, response.text
    return account_of(response, account.email, account.password)


def resigned(token: str, secret: str, **changes: object) -> str:
    """`token`'s claims with `changes`, signed with `secret`."""
    return jwt.encode({**claims_of(token), **changes}, secret, algorithm="HS256")


# --- refresh ---------------------------------------------------------------------------


def test_refresh_rotates_the_token_within_the_same_session(client: TestClient) -> None:
    account = signup(client)

    second = refresh(client, account)
    third = refresh(client, second)

    tokens = {account.refresh, second.refresh, third.refresh}
    assert len(tokens) == 3
    assert len({claims_of(t)["sid"] for t in tokens}) == 1
    assert len({claims_of(t)["jti"] for t in tokens}) == 3
    assert third.user_id == account.user_id
    me = client.get("/api/auth/me/", headers=third.auth)
    assert me.status_code == 200 and me.json()["id"] == account.user_id


def test_a_reused_refresh_token_is_refused_and_revokes_its_whole_family(
    client: TestClient,
) -> None:
    account = signup(client)
    newest = refresh(client, refresh(client, account))

    replayed = client.post("/api/auth/refresh/", json={"refresh": account.refresh})
    after = client.post("/api/auth/refresh/", json={"refresh": newest.refresh})

    assert "reused" in assert_unauthorized(replayed)["detail"]
    assert "session has ended" in assert_unauthorized(after)["detail"]


def test_reuse_detection_leaves_other_sessions_of_the_user_alone(client: TestClient) -> None:
    account = signup(client)
    other_session = client.post("/api/auth/login/", json={"email": account.email,
                                                          "password": account.password})
    refresh(client, account)

    client.post("/api/auth/refresh/", json={"refresh": account.refresh})

    other = account_of(other_session, account.email, account.password)
    assert refresh(client, other).user_id == account.user_id


def test_a_refresh_token_signed_with_another_secret_is_refused(
    client: TestClient, settings: Settings
) -> None:
    account = signup(client)
    forged = resigned(account.refresh, "another secret, not the server's one, 32+ chars")
    assert forged != account.refresh

    response = client.post("/api/auth/refresh/", json={"refresh": forged})

    assert "invalid" in assert_unauthorized(response)["detail"]
    assert refresh(client, account).user_id == account.user_id  # the real one still works


def test_an_expired_refresh_token_is_refused(client: TestClient, settings: Settings) -> None:
    account = signup(client)
    past = datetime.now(UTC) - timedelta(minutes=1)
    expired = resigned(account.refresh, settings.jwt_secret.get_secret_value(),
                       exp=past, iat=past - timedelta(days=7))

    response = client.post("/api/auth/refresh/", json={"refresh": expired})

    assert "expired" in assert_unauthorized(response)["detail"]


def test_tokens_stop_working_when_their_lifetime_is_over(make_app: AppFactory) -> None:
    # Long enough for the first request to succeed even on a loaded machine.
    _, short_lived = make_app(access_token_ttl_seconds=4, refresh_token_ttl_seconds=4)
    account = signup(short_lived)
    issued = time.monotonic()
    assert short_lived.get("/api/auth/me/", headers=account.waiting()).status_code == 200

    time.sleep(max(0.0, 4.2 - (time.monotonic() - issued)))

    me = short_lived.get("/api/auth/me/", headers=account.auth)
    renewed = short_lived.post("/api/auth/refresh/", json={"refresh": account.refresh})
    assert "access token has expired" in assert_unauthorized(me)["detail"]
    assert "refresh token has expired" in assert_unauthorized(renewed)["detail"]


def test_garbage_refresh_tokens_are_refused(client: TestClient) -> None:
    for token in ["garbage", "a.b.c", "eyJhbGciOiJIUzI1NiJ9.e30.x"]:
        response = client.post("/api/auth/refresh/", json={"refresh": token})
        assert_unauthorized(response)


def test_an_access_token_is_not_a_refresh_token(client: TestClient) -> None:
    account = signup(client)

    response = client.post("/api/auth/refresh/", json={"refresh": account.access})

    assert "not a valid refresh token" in assert_unauthorized(response)["detail"]


def test_a_refresh_token_is_not_an_access_token(client: TestClient) -> None:
    account = signup(client)

    response = client.get("/api/auth/me/",
                          headers={"Authorization": f"Bearer {account.refresh}"})

    assert "not a valid access token" in assert_unauthorized(response)["detail"]


def test_an_access_token_signed_with_another_secret_is_refused(client: TestClient) -> None:
    account = signup(client)
    forged = resigned(account.access, "another secret, not the server's one, 32+ chars",
                      role="admin")

    response = client.get("/api/users/", headers={"Authorization": f"Bearer {forged}"})

    assert_unauthorized(response)


def test_protected_routes_need_a_bearer_token(client: TestClient) -> None:
    signup(client)
    basic = {"Authorization": "Basic YW5uOnNlY3JldA=="}

    for response in [
        client.get("/api/auth/me/"),
        client.get("/api/auth/me/", headers=basic),
        client.patch("/api/auth/me/", json={"name": "Eve"}),
        client.post("/api/auth/change-password/",
                    json={"old_password": "x", "new_password": "y"}),
        client.get("/api/users/"),
    ]:
        assert_unauthorized(response)


# --- logout ----------------------------------------------------------------------------


def test_logout_revokes_the_refresh_token(client: TestClient) -> None:
    account = signup(client)

    response = client.post("/api/auth/logout/", headers=account.auth,
                           json={"refresh": account.refresh})

    assert response.status_code == 200, response.text
    assert response.json() == {"detail": "logged out"}
    assert int(response.headers["X-Event-Position"]) > account.position
    after = client.post("/api/auth/refresh/", json={"refresh": account.refresh})
    assert "session has ended" in assert_unauthorized(after)["detail"]


def test_logout_revokes_the_tokens_rotated_from_the_logged_out_one(client: TestClient) -> None:
    account = signup(client)
    newest = refresh(client, account)

    client.post("/api/auth/logout/", headers=newest.auth, json={"refresh": newest.refresh})

    assert_unauthorized(client.post("/api/auth/refresh/", json={"refresh": newest.refresh}))


def test_logout_with_the_refresh_token_alone_ends_the_session(client: TestClient) -> None:
    """The console logs out so (its access token may have expired long before):
    the refresh token is the session's credential."""
    account = signup(client)

    response = client.post("/api/auth/logout/", json={"refresh": account.refresh})

    assert response.status_code == 200, response.text
    assert_unauthorized(client.post("/api/auth/refresh/", json={"refresh": account.refresh}))
    assert_unauthorized(client.get("/api/auth/me/", headers=account.auth))


def test_logout_needs_a_valid_refresh_token(client: TestClient) -> None:
    account = signup(client)

    response = client.post("/api/auth/logout/", json={"refresh": account.access})

    assert_unauthorized(response)
    assert refresh(client, account).user_id == account.user_id  # nothing was revoked


def test_logout_with_another_users_refresh_token_is_refused(client: TestClient) -> None:
    ann, bob = signup(client), signup(client)

    response = client.post("/api/auth/logout/", headers=ann.auth, json={"refresh": bob.refresh})

    assert "another user" in assert_unauthorized(response)["detail"]
    assert refresh(client, bob).user_id == bob.user_id


def test_racing_refreshes_with_one_token_give_one_new_pair_and_then_revoke_it(
    client: TestClient,
) -> None:
    account = signup(client)
    barrier = Barrier(4)

    def race(_: int) -> httpx.Response:
        barrier.wait()
        return client.post("/api/auth/refresh/", json={"refresh": account.refresh})

    with ThreadPoolExecutor(4) as pool:
        responses = list(pool.map(race, range(4)))

    assert sorted(r.status_code for r in responses) == [200, 401, 401, 401]
    [winner] = [r for r in responses if r.status_code == 200]
    after = client.post("/api/auth/refresh/", json={"refresh": winner.json()["refresh"]})
    assert_unauthorized(after)
