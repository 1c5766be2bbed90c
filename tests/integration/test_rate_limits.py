"""Rate limits: every limited route answers 429 with Retry-After once over its limit,
counted per client address, per email or per user as designed; and the limits hold
while Redis is down (counted in the process), then go back to Redis."""

from __future__ import annotations

import random
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis
from fastapi.testclient import TestClient

from infra.bootstrap import Container, bootstrap
from infra.ratelimit import RateLimited, RateLimiter
from interfaces.http.app import create_app
from tests.conftest import make_settings
from tests.e2e.conftest import free_port
from tests.integration.accounts_helpers import (
    PASSWORD,
    Account,
    assert_problem,
    signup,
    unique_email,
)
from tests.integration.client_addresses import at
from tests.integration.conftest import AppFactory
from tests.integration.test_redis_outage import RedisServer

# Small limits, in hours: a window boundary never falls inside a test.
LIMITS = {
    "rate_limit_login": "3/hour", "rate_limit_login_ip": "5/hour",
    "rate_limit_signup": "3/hour", "rate_limit_refresh": "3/hour",
    "rate_limit_reset_request": "4/hour", "rate_limit_reset_email": "2/hour",
    "rate_limit_reset_confirm": "3/hour", "rate_limit_pair": "3/hour",
    "rate_limit_pairing_code": "3/hour", "rate_limit_tts": "3/hour",
    "rate_limit_upload": "3/hour",
}


@pytest.fixture(scope="module")
def limited(make_app: AppFactory) -> TestClient:
    _, client = make_app(**LIMITS)
    return client


def new_account(limited: TestClient) -> Account:
    return signup(at(limited))


def assert_limited(response: httpx.Response, window_seconds: int = 3600) -> None:
    detail = assert_problem(response, 429)["detail"]
    assert "too many attempts" in detail
    assert 1 <= int(response.headers["Retry-After"]) <= window_seconds


def statuses(responses: list[httpx.Response]) -> list[int]:
    return [r.status_code for r in responses]


def test_signup_is_limited_per_client_address(limited: TestClient) -> None:
    here, elsewhere = at(limited), at(limited)
    body = {"password": PASSWORD, "name": "Sam", "client_name": "Spam Inc"}
    allowed = [here.post("/api/auth/signup/", json={**body, "email": unique_email()})
               for _ in range(3)]

    refused = here.post("/api/auth/signup/", json={**body, "email": unique_email()})
    other = elsewhere.post("/api/auth/signup/", json={**body, "email": unique_email()})

    assert statuses(allowed) == [201] * 3
    assert_limited(refused)
    assert other.status_code == 201, other.text


def test_ipv6_clients_are_counted_per_64_block(limited: TestClient) -> None:
    block = f"2001:db8:{random.randrange(65536):x}:{random.randrange(65536):x}"
    body = {"password": PASSWORD, "name": "Sam", "client_name": "Spam Inc"}

    def sign_up_from(address: str) -> httpx.Response:
        return at(limited, address).post("/api/auth/signup/",
                                         json={**body, "email": unique_email()})

    stepping = [sign_up_from(f"{block}::{i}") for i in range(1, 5)]
    next_block = sign_up_from(f"{block[:-1]}{(int(block[-1], 16) + 1) % 16:x}::1")

    assert statuses(stepping[:3]) == [201] * 3
    assert_limited(stepping[3])
    assert next_block.status_code == 201, next_block.text


def test_login_is_limited_per_address_and_email_then_per_address(limited: TestClient) -> None:
    account, here = new_account(limited), at(limited)
    wrong = {"email": account.email, "password": "not the password"}
    failed = [here.post("/api/auth/login/", json=wrong) for _ in range(3)]

    right_but_locked = here.post("/api/auth/login/", json={**wrong, "password": PASSWORD})
    from_elsewhere = at(limited).post("/api/auth/login/",
                                      json={**wrong, "password": PASSWORD})
    # Any email from this address, until its fifth attempt (the refused one counts).
    another = here.post("/api/auth/login/", json={"email": unique_email(), "password": "x"})
    past_address_limit = here.post("/api/auth/login/",
                                   json={"email": unique_email(), "password": "x"})

    assert statuses(failed) == [401] * 3
    assert_limited(right_but_locked)
    assert from_elsewhere.status_code == 200, from_elsewhere.text
    assert another.status_code == 401
    assert_limited(past_address_limit)


def test_refresh_with_garbage_is_limited_per_client_address(limited: TestClient) -> None:
    here = at(limited)
    garbage = [here.post("/api/auth/refresh/", json={"refresh": f"garbage-{i}"})
               for i in range(3)]

    refused = here.post("/api/auth/refresh/", json={"refresh": "garbage"})
    other = at(limited).post("/api/auth/refresh/", json={"refresh": "garbage"})

    assert statuses(garbage) == [401] * 3
    assert_limited(refused)
    assert other.status_code == 401


def test_reset_requests_are_limited_per_email_and_per_client_address(
        limited: TestClient) -> None:
    victim = unique_email("victim")
    for_victim = [at(limited).post("/api/auth/password-reset/", json={"email": victim})
                  for _ in range(2)]
    # From yet another address, and written otherwise: still the same email.
    victim_again = at(limited).post("/api/auth/password-reset/",
                                    json={"email": victim.upper()})
    here = at(limited)
    many = [here.post("/api/auth/password-reset/", json={"email": unique_email()})
            for _ in range(4)]
    past_address_limit = here.post("/api/auth/password-reset/",
                                   json={"email": unique_email()})

    assert statuses(for_victim) == [202] * 2
    assert_limited(victim_again)
    assert statuses(many) == [202] * 4
    assert_limited(past_address_limit)


def test_reset_confirm_with_bogus_tokens_is_limited_per_client_address(
        limited: TestClient) -> None:
    here = at(limited)
    body = {"new_password": "a brand new password"}
    bogus = [here.post("/api/auth/password-reset/confirm/", json={**body, "token": f"t{i}"})
             for i in range(3)]

    refused = here.post("/api/auth/password-reset/confirm/", json={**body, "token": "t"})

    assert statuses(bogus) == [401] * 3
    assert_limited(refused)


def zone_of(client: TestClient, account: Account) -> str:
    response = client.post("/api/zones/", json={"name": "Floor"}, headers=account.auth)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def pair_body(code: str) -> dict[str, Any]:
    return {"code": code, "device_id": f"hw-{uuid.uuid4().hex[:10]}", "name": "Speaker",
            "device_type": "speaker"}


def test_pairing_with_wrong_codes_is_limited_per_client_address(limited: TestClient) -> None:
    account = new_account(limited)
    code = limited.post(f"/api/zones/{zone_of(limited, account)}/pairing-code/",
                        headers=account.auth).json()["code"]
    here = at(limited)
    wrong = [here.post("/api/devices/pair/", json=pair_body(f"WRONG{i:03d}")) for i in range(3)]

    right_but_locked = here.post("/api/devices/pair/", json=pair_body(code))
    from_elsewhere = at(limited).post("/api/devices/pair/", json=pair_body(code))

    assert statuses(wrong) == [400] * 3
    assert_limited(right_but_locked)
    assert from_elsewhere.status_code == 201, from_elsewhere.text


def test_pairing_codes_are_limited_per_user(limited: TestClient) -> None:
    ann, bob = new_account(limited), new_account(limited)
    zone = zone_of(limited, ann)
    url = f"/api/zones/{zone}/pairing-code/"
    codes = [at(limited).post(url, headers=ann.auth) for _ in range(3)]

    refused = at(limited).post(url, headers=ann.auth)  # a new address changes nothing
    bobs = limited.post(f"/api/zones/{zone_of(limited, bob)}/pairing-code/", headers=bob.auth)

    assert statuses(codes) == [201] * 3
    assert_limited(refused)
    assert bobs.status_code == 201, bobs.text


def test_text_to_speech_is_limited_per_user(limited: TestClient) -> None:
    ann, bob = new_account(limited), new_account(limited)
    speech = {"text": "Closing soon", "voice": "", "language": "en-US"}
    spoken = [at(limited).post("/api/announcements/tts/", json=speech, headers=ann.auth)
              for _ in range(3)]

    refused = limited.post("/api/announcements/tts/", json=speech, headers=ann.auth)
    bobs = limited.post("/api/announcements/tts/", json=speech, headers=bob.auth)

    assert statuses(spoken) == [202] * 3
    assert_limited(refused)
    assert bobs.status_code == 202, bobs.text


def test_music_and_announcement_uploads_share_one_limit_per_user(limited: TestClient) -> None:
    ann, bob = new_account(limited), new_account(limited)
    not_audio = ("notes.mp3", b"this is not audio", "audio/mpeg")

    def music(account: Account) -> httpx.Response:
        return at(limited).post("/api/music/upload/", headers=account.auth,
                                files=[("files", not_audio)])

    def announcement(account: Account) -> httpx.Response:
        return at(limited).post("/api/announcements/upload/", headers=account.auth,
                                files={"file": not_audio})

    tried = [music(ann), announcement(ann), music(ann)]
    refused = [music(ann), announcement(ann)]
    bobs = music(bob)

    assert statuses(tried) == [415] * 3  # the routes ran: the content is not audio
    for response in refused:
        assert_limited(response)
    assert bobs.status_code == 415


def test_a_route_without_a_token_is_refused_before_anything_is_counted(
        limited: TestClient) -> None:
    anonymous = [limited.post("/api/announcements/tts/", json={"text": "Hi"})
                 for _ in range(5)]

    assert statuses(anonymous) == [401] * 5


# --- Redis down -----------------------------------------------------------------------


@pytest.fixture
def dead_redis_app(test_database: str, servers: dict[str, str],
                   tmp_path: Path) -> Iterator[tuple[Container, TestClient]]:
    """An app whose Redis does not answer (nothing listens on its port)."""
    settings = make_settings(
        test_database, {**servers, "redis_url": f"redis://127.0.0.1:{free_port()}/0"},
        f"dead-{uuid.uuid4().hex[:6]}:", tmp_path, projections_in_process=False,
        workers_in_process=False, rate_limit_login="5/hour")
    container = bootstrap(settings, start_projections=False)
    try:
        yield container, TestClient(create_app(container))
    finally:
        container.close()


def test_login_stays_limited_while_redis_is_unreachable(
        client: TestClient, dead_redis_app: tuple[Container, TestClient]) -> None:
    account = signup(client)  # through the app whose Redis works: same database
    _, dead = dead_redis_app
    wrong = {"email": account.email, "password": "not the password"}

    attempts = [dead.post("/api/auth/login/", json=wrong) for _ in range(15)]
    right = dead.post("/api/auth/login/", json={**wrong, "password": PASSWORD})

    assert statuses(attempts) == [401] * 5 + [429] * 10
    assert_limited(attempts[-1])
    assert_limited(right)


def test_the_limiter_counts_in_the_process_while_redis_is_down_and_in_redis_when_back(
        redis_server: RedisServer) -> None:
    url, prefix = f"redis://127.0.0.1:{redis_server.port}/0", f"back-{uuid.uuid4().hex[:6]}:"
    limiter = RateLimiter(url, prefix, {"try": "3/hour"}, retry_seconds=0.5)
    limiter.hit("try", "before")
    stored = redis.Redis.from_url(url)
    assert list(stored.scan_iter(f"{prefix}*"))  # counted in Redis

    redis_server.stop()
    started = time.monotonic()
    for _ in range(3):
        limiter.hit("try", "meanwhile")
    with pytest.raises(RateLimited) as refused:
        limiter.hit("try", "meanwhile")
    took = time.monotonic() - started

    redis_server.start()
    time.sleep(0.6)  # past retry_seconds: the next attempt asks Redis again
    limiter.hit("try", "after")
    assert [k for k in stored.scan_iter(f"{prefix}*") if b"/try/after/" in k]
    assert not [k for k in stored.scan_iter(f"{prefix}*") if b"/try/meanwhile/" in k]
    assert refused.value.retry_after > 3000
    assert took < 1.5, f"four attempts with Redis down took {took:.2f} s"
    stored.close()


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path)
    server.start()
    yield server
    server.stop()
