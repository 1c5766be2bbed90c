"""TokenService remembers the tokens it has checked: the same token is not
verified again until it expires, a token is never taken for another type, and a
changed token is checked on its own."""

from __future__ import annotations

import time
import uuid
from datetime import timedelta

import jwt
import pytest

from domain.accounts import InvalidToken
from domain.base import Actor, CommandContext, acting
from domain.user import User
from infra.security import TokenService

SECRET = "unit-test-secret-" + "x" * 32


def user() -> User:
    with acting(CommandContext(Actor.system("test"), "tokens")):
        return User(email="ada@example.com", name="Ada", client_id=uuid.uuid4(),
                    role="client", phone="", timezone="UTC", password_hash="-")


class Clock:
    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


def test_an_access_token_is_decoded_once_and_forgotten_at_its_expiry() -> None:
    clock = Clock()
    tokens = TokenService(SECRET, timedelta(hours=1), timedelta(days=1), clock=clock)
    ada, session = user(), uuid.uuid4()
    access = tokens.pair(ada, session, "t1")["access"]
    first = tokens.access(access)
    assert (first.user_id, first.session_id, first.role) == (ada.id, session, "client")
    assert tokens.access(access) is first  # remembered, not decoded again
    clock.now += 3601  # past `exp` for the cache; PyJWT, on the real clock, still accepts it
    again = tokens.access(access)
    assert again == first and again is not first  # decoded anew


def test_an_expired_token_is_refused_even_after_it_was_remembered() -> None:
    tokens = TokenService(SECRET, timedelta(seconds=1), timedelta(days=1))
    access = tokens.pair(user(), uuid.uuid4(), "t1")["access"]
    tokens.access(access)
    time.sleep(1.1)
    with pytest.raises(InvalidToken, match="expired"):
        tokens.access(access)


def test_a_device_token_is_never_an_access_token() -> None:
    tokens = TokenService(SECRET, timedelta(hours=1), timedelta(days=1))
    device, zone, client = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    token = tokens.device(device, zone, client, "d1")
    with pytest.raises(InvalidToken):
        tokens.access(token)
    claims = tokens.device_claims(token)
    assert (claims.device_id, claims.zone_id, claims.client_id) == (device, zone, client)
    with pytest.raises(InvalidToken, match="not a valid access token"):
        tokens.access(token)  # remembered as a device token
    assert tokens.device_claims(token) is claims
    access = tokens.pair(user(), uuid.uuid4(), "t1")["access"]
    tokens.access(access)
    with pytest.raises(InvalidToken):
        tokens.device_claims(access)


def test_a_token_signed_with_another_key_or_changed_is_refused() -> None:
    tokens = TokenService(SECRET, timedelta(hours=1), timedelta(days=1))
    access = tokens.pair(user(), uuid.uuid4(), "t1")["access"]
    tokens.access(access)
    claims = jwt.decode(access, SECRET, algorithms=["HS256"])
    forged = jwt.encode({**claims, "role": "admin"}, "another-secret-" + "y" * 32,
                        algorithm="HS256")
    with pytest.raises(InvalidToken):
        tokens.access(forged)
    header, payload, signature = access.split(".")
    with pytest.raises(InvalidToken):
        tokens.access(f"{header}.{payload}.{signature[:-2]}AA")


def test_at_most_remembered_tokens_are_kept() -> None:
    tokens = TokenService(SECRET, timedelta(hours=1), timedelta(days=1), remembered=2)
    minted = [tokens.pair(user(), uuid.uuid4(), f"t{i}")["access"] for i in range(3)]
    first = [tokens.access(t) for t in minted]
    assert tokens.access(minted[2]) is first[2]
    assert tokens.access(minted[0]) is not first[0]  # the oldest was dropped
