"""X-Forwarded-For is believed only from the proxies named in TRUSTED_PROXIES: from
anyone else a new value cannot unlock a locked-out login."""

from __future__ import annotations

import httpx
import pytest
from fastapi.testclient import TestClient

from tests.integration.accounts_helpers import PASSWORD, Account, assert_problem, signup
from tests.integration.client_addresses import at, new_address
from tests.integration.conftest import AppFactory

PROXY = "10.250.0.1"


@pytest.fixture(scope="module")
def untrusting(make_app: AppFactory) -> TestClient:
    """An app with the default: no proxy trusted."""
    _, client = make_app(rate_limit_login="3/hour")
    return client


@pytest.fixture(scope="module")
def behind_proxy(make_app: AppFactory) -> TestClient:
    _, client = make_app(rate_limit_login="3/hour", trusted_proxies=[PROXY])
    return client


def log_in(client: TestClient, account: Account, password: str,
           forwarded_for: str | None = None) -> httpx.Response:
    headers = {"X-Forwarded-For": forwarded_for} if forwarded_for else {}
    return client.post("/api/auth/login/", headers=headers,
                       json={"email": account.email, "password": password})


def lock_out(client: TestClient, account: Account, forwarded_for: str | None = None) -> None:
    for _ in range(3):
        assert log_in(client, account, "wrong", forwarded_for).status_code == 401
    assert_problem(log_in(client, account, "wrong", forwarded_for), 429)


def test_a_locked_out_login_stays_locked_whatever_an_untrusted_peer_forwards(
        untrusting: TestClient) -> None:
    account, peer = signup(at(untrusting)), at(untrusting)
    lock_out(peer, account)

    spoofed = [log_in(peer, account, "wrong", forwarded_for=new_address()) for _ in range(3)]
    right = log_in(peer, account, PASSWORD, forwarded_for=new_address())

    assert [r.status_code for r in spoofed] == [429] * 3
    assert_problem(right, 429)


def test_behind_a_trusted_proxy_logins_are_counted_per_forwarded_client(
        behind_proxy: TestClient) -> None:
    account, proxy = signup(at(behind_proxy)), at(behind_proxy, PROXY)
    attacker, user = new_address(), new_address()
    lock_out(proxy, account, forwarded_for=attacker)

    attacker_again = log_in(proxy, account, PASSWORD, forwarded_for=attacker)
    # A client's own X-Forwarded-For comes first; the proxy appends the address it saw.
    attacker_spoofing = log_in(proxy, account, PASSWORD, forwarded_for=f"{user}, {attacker}")
    someone_else = log_in(proxy, account, PASSWORD, forwarded_for=user)

    assert_problem(attacker_again, 429)
    assert_problem(attacker_spoofing, 429)
    assert someone_else.status_code == 200, someone_else.text


def test_an_app_with_a_trusted_proxy_still_ignores_the_header_from_others(
        behind_proxy: TestClient) -> None:
    account, peer = signup(at(behind_proxy)), at(behind_proxy)
    lock_out(peer, account)

    spoofed = log_in(peer, account, PASSWORD, forwarded_for=new_address())

    assert_problem(spoofed, 429)
