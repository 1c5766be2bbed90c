"""Password reset through the real app and a real SMTP server (aiosmtpd)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from fastapi.testclient import TestClient

from infra.bootstrap import Container
from tests.integration.accounts_helpers import (
    assert_problem,
    assert_unauthorized,
    login,
    signup,
    unique_email,
)
from tests.integration.conftest import MailCollector

NEW_PASSWORD = "reset to something new"


@pytest.fixture
def mail(smtp_server: tuple[MailCollector, int]) -> MailCollector:
    return smtp_server[0]


@pytest.fixture
def app(mailing_app: tuple[Container, TestClient]) -> TestClient:
    return mailing_app[1]


def request_reset(app: TestClient, mail: MailCollector, email: str) -> str:
    """Ask for a reset mail and return the token it carries."""
    before = len(mail.to(email))
    response = app.post("/api/auth/password-reset/", json={"email": email})
    assert response.status_code == 202, response.text
    [message] = mail.wait_for(email, before + 1)[-1:]
    match = re.search(r"Reset token: (\S+)", message.get_content())
    assert match, message.get_content()
    return match.group(1)


def confirm(app: TestClient, token: str, password: str = NEW_PASSWORD) -> httpx.Response:
    return app.post("/api/auth/password-reset/confirm/",
                    json={"token": token, "new_password": password})


def test_a_reset_mail_carries_a_link_and_a_token(app: TestClient, mail: MailCollector,
                                                 mailing_app: tuple[Container, TestClient]) -> None:
    account = signup(app)

    token = request_reset(app, mail, account.email)

    [message] = mail.to(account.email)
    assert message["Subject"] == "Reset your sync2gear password"
    assert "sync2gear" in message["From"]
    public_url = mailing_app[0].settings.public_url
    assert f"{public_url}/reset-password?token={token}" in message.get_content()
    assert token.startswith(account.user["id"].replace("-", "") + ".")


def test_a_reset_token_sets_a_new_password_once(app: TestClient, mail: MailCollector) -> None:
    account = signup(app)
    token = request_reset(app, mail, account.email)

    response = confirm(app, token)

    assert response.status_code == 200, response.text
    assert "reset" in response.json()["detail"]
    assert int(response.headers["X-Event-Position"]) > account.position
    assert login(app, account.email, NEW_PASSWORD).user_id == account.user_id
    assert_unauthorized(app.post("/api/auth/login/", json={"email": account.email,
                                                           "password": account.password}))
    again = confirm(app, token, "yet another passphrase")
    assert "invalid, used or expired" in assert_unauthorized(again)["detail"]
    assert login(app, account.email, NEW_PASSWORD).user_id == account.user_id


def test_a_password_reset_ends_earlier_refresh_tokens(app: TestClient,
                                                      mail: MailCollector) -> None:
    account = signup(app)

    confirm(app, request_reset(app, mail, account.email))

    assert_unauthorized(app.post("/api/auth/refresh/", json={"refresh": account.refresh}))


def test_only_the_newest_reset_token_works(app: TestClient, mail: MailCollector) -> None:
    account = signup(app)
    first = request_reset(app, mail, account.email)
    second = request_reset(app, mail, account.email)

    assert_unauthorized(confirm(app, first))
    assert confirm(app, second).status_code == 200


def test_garbage_reset_tokens_are_refused(app: TestClient, mail: MailCollector) -> None:
    account = signup(app)
    token = request_reset(app, mail, account.email)
    user_hex, _, secret = token.partition(".")

    for garbage in ["garbage", "not-hex.secret", f"{user_hex}.wrong-secret",
                    f"{'0' * 32}.{secret}", user_hex, f".{secret}"]:
        assert_unauthorized(confirm(app, garbage))
    assert confirm(app, token).status_code == 200  # the real one was not used up


def test_an_expired_reset_token_is_refused(mailing_app: tuple[Container, TestClient],
                                           mail: MailCollector) -> None:
    container, app = mailing_app
    account = signup(app)
    real_clock = container.accounts.clock
    container.accounts.clock = lambda: datetime.now(UTC) - timedelta(hours=1, seconds=1)
    try:
        token = request_reset(app, mail, account.email)
    finally:
        container.accounts.clock = real_clock

    response = confirm(app, token)

    assert "expired" in assert_unauthorized(response)["detail"]


def test_a_reset_with_a_weak_new_password_is_refused_and_keeps_the_token(
    app: TestClient, mail: MailCollector
) -> None:
    account = signup(app)
    token = request_reset(app, mail, account.email)

    assert_problem(confirm(app, token, "weak"), 422)

    assert confirm(app, token).status_code == 200


def test_a_reset_for_an_unknown_email_answers_the_same_and_sends_nothing(
    app: TestClient, mail: MailCollector
) -> None:
    known = signup(app)
    ghost = unique_email("ghost")
    sent_before = len(mail.messages)

    unknown_response = app.post("/api/auth/password-reset/", json={"email": ghost})
    known_response = app.post("/api/auth/password-reset/", json={"email": known.email})

    assert unknown_response.status_code == known_response.status_code == 202
    assert unknown_response.json() == known_response.json()
    mail.wait_for(known.email)  # queued after the ghost's, had there been one
    assert mail.to(ghost) == []
    assert len(mail.messages) == sent_before + 1


def test_a_reset_request_with_an_invalid_email_is_a_validation_problem(app: TestClient) -> None:
    response = app.post("/api/auth/password-reset/", json={"email": "nobody"})

    assert ["body", "email"] in [e["loc"] for e in assert_problem(response, 422)["errors"]]
