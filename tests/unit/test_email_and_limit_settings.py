"""Emails are compared after NFKC, lower-cased; rate limits and trusted proxies are
settings checked when they are read."""

from __future__ import annotations

import string

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from domain.accounts import normalise_email
from infra.settings import Settings


@given(st.text(alphabet=string.printable))
def test_an_ascii_email_is_normalised_as_it_always_was(email: str) -> None:
    # The ids of stored email indexes derive from this form: it must not change.
    assert normalise_email(email) == email.strip().lower()


@pytest.mark.parametrize(("given_email", "normalised"), [
    ("\uff21\uff2e\uff2e@example.com", "ann@example.com"),  # fullwidth ANN
    ("\ufb01ona@example.com", "fiona@example.com"),  # the "fi" ligature
    ("Cafe\u0301@example.com", "caf\u00e9@example.com"),  # composed
    ("Stra\u00dfe@example.de", "stra\u00dfe@example.de"),  # lower-cased, not folded to "ss"
])
def test_emails_that_look_the_same_are_the_same(given_email: str, normalised: str) -> None:
    assert normalise_email(given_email) == normalised


def settings(**values: str) -> Settings:
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


def test_every_rate_limit_is_a_setting_with_several_windows_allowed() -> None:
    limits = settings(rate_limit_signup="2/minute;10/hour").rate_limits

    assert limits["signup"] == "2/minute;10/hour"
    assert {"login", "login_ip", "signup", "refresh", "reset_request", "reset_email",
            "reset_confirm", "pair", "pairing_code", "tts", "upload", "command"} <= set(limits)


def test_a_rate_limit_that_does_not_parse_is_refused_when_read() -> None:
    with pytest.raises(ValidationError, match="rate_limit_tts"):
        settings(rate_limit_tts="lots")


def test_the_old_login_rate_limit_variable_still_sets_the_login_limit(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOGIN_RATE_LIMIT", "4/minute")

    assert settings().rate_limits["login"] == "4/minute"


def test_no_proxy_is_trusted_unless_named() -> None:
    assert settings().trusted_proxies == []


@pytest.mark.parametrize(("value", "trusted"), [
    ("10.0.0.7", ["10.0.0.7"]),
    ("10.0.0.7, 172.28.80.0/24", ["10.0.0.7", "172.28.80.0/24"]),
    ('["::1", "10.1.2.3/8"]', ["::1", "10.0.0.0/8"]),
])
def test_trusted_proxies_are_addresses_or_networks(
        monkeypatch: pytest.MonkeyPatch, value: str, trusted: list[str]) -> None:
    monkeypatch.setenv("TRUSTED_PROXIES", value)

    assert settings().trusted_proxies == trusted


@pytest.mark.parametrize("value", ["nginx", "*", "10.0.0.300"])
def test_a_trusted_proxy_that_is_not_an_address_is_refused(
        monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("TRUSTED_PROXIES", value)

    with pytest.raises(ValidationError, match="trusted_proxies"):
        settings()
