"""Examples of the accounts rules, one sentence each, in memory.

Most drive the aggregates directly; a few go through an in-memory
AccountsApplication (fake hasher, mailer and clock) where the rule lives in
the command layer: email uniqueness, refresh-token families, reset links.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid4

import pytest

from application.accounts import RESET_TOKEN_TTL, AccountsApplication
from domain.accounts import (
    AccountDisabled,
    EmailAlreadyRegistered,
    InvalidLimits,
    InvalidTimezone,
    InvalidToken,
    RefreshTokenReused,
    Role,
    SubscriptionStatus,
    WeakPassword,
    check_password_strength,
    normalise_email,
)
from domain.base import Actor, ActorKind, CommandContext, acting
from domain.client import Client
from domain.session import Session
from domain.user import User

IN_MEMORY = {"PERSISTENCE_MODULE": "eventsourcing.popo"}
NOW = datetime(2025, 6, 1, 9, 0, tzinfo=UTC)
ANN = CommandContext(Actor(ActorKind.USER, "ann"), "corr-1")


class FakeHasher:
    def hash(self, password: str) -> str:
        return f"hashed:{password}"

    def verify(self, password: str, password_hash: str) -> bool:
        return password_hash == f"hashed:{password}"


class FakeMailer:
    def __init__(self) -> None:
        self.sent: list[tuple[str, str, str]] = []

    def send(self, to: str, subject: str, body: str) -> None:
        self.sent.append((to, subject, body))

    def last_reset_token(self) -> str:
        return self.sent[-1][2].split("Reset token: ")[1].split()[0]


class FakeClock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def new_user(role: Role = Role.CLIENT) -> User:
    with acting(ANN):
        return User.register(email="ann@example.com", name="Ann", password_hash="h1",
                             client_id=uuid4(), role=role)


def new_app(
    mailer: FakeMailer | None = None, clock: FakeClock | None = None
) -> AccountsApplication:
    return AccountsApplication(IN_MEMORY, hasher=FakeHasher(), mailer=mailer,
                               clock=clock or FakeClock(NOW))


def sign_up(app: AccountsApplication, email: str = "ann@example.com") -> tuple[UUID, UUID, str]:
    grant = app.signup(ANN, email=email, password="correct horse", name="Ann",
                       client_name="Ann's Bakery")
    return grant.user.id, grant.session_id, grant.token_id


# -- passwords and reset tokens ---------------------------------------------------


def test_reset_token_works_once() -> None:
    user = new_user()
    with acting(ANN):
        user.request_password_reset("tok", NOW + timedelta(hours=1))
        user.reset_password("tok", "h2", NOW)
        with pytest.raises(InvalidToken):
            user.reset_password("tok", "h3", NOW)
    assert user.password_hash == "h2"


def test_reset_token_is_refused_from_the_moment_it_expires() -> None:
    user = new_user()
    with acting(ANN):
        user.request_password_reset("tok", NOW)
        with pytest.raises(InvalidToken):
            user.reset_password("tok", "h2", NOW)
        user.reset_password("tok", "h2", NOW - timedelta(microseconds=1))
    assert user.password_hash == "h2"


def test_only_the_newest_reset_token_works() -> None:
    user = new_user()
    with acting(ANN):
        user.request_password_reset("old", NOW + timedelta(hours=1))
        user.request_password_reset("new", NOW + timedelta(hours=1))
        with pytest.raises(InvalidToken):
            user.reset_password("old", "h2", NOW)
        user.reset_password("new", "h2", NOW)


def test_a_wrong_or_missing_reset_token_is_refused() -> None:
    user = new_user()
    with acting(ANN):
        with pytest.raises(InvalidToken):
            user.reset_password("tok", "h2", NOW)
        user.request_password_reset("tok", NOW + timedelta(hours=1))
        with pytest.raises(InvalidToken):
            user.reset_password("TOK", "h2", NOW)
    assert user.password_hash == "h1"


def test_password_change_bumps_credentials_version() -> None:
    user = new_user()
    with acting(ANN):
        user.request_password_reset("tok", NOW + timedelta(hours=1))
        user.change_password("h2")
    assert (user.credentials_version, user.password_hash) == (2, "h2")
    assert user.reset_token_hash is None and user.reset_expires_at is None


def test_password_reset_link_from_the_mail_works_once() -> None:
    mailer, clock = FakeMailer(), FakeClock(NOW)
    app = new_app(mailer, clock)
    sign_up(app)
    app.request_password_reset(ANN, "ANN@example.com")
    token = mailer.last_reset_token()
    app.confirm_password_reset(ANN, token=token, new_password="new password")
    with pytest.raises(InvalidToken):
        app.confirm_password_reset(ANN, token=token, new_password="other password")
    app.login(ANN, email="ann@example.com", password="new password")


def test_password_reset_link_expires() -> None:
    mailer, clock = FakeMailer(), FakeClock(NOW)
    app = new_app(mailer, clock)
    sign_up(app)
    app.request_password_reset(ANN, "ann@example.com")
    clock.now = NOW + RESET_TOKEN_TTL
    with pytest.raises(InvalidToken):
        app.confirm_password_reset(ANN, token=mailer.last_reset_token(), new_password="pass word")


def test_unknown_emails_get_no_reset_mail() -> None:
    mailer = FakeMailer()
    app = new_app(mailer)
    assert app.request_password_reset(ANN, "nobody@example.com") is None
    assert mailer.sent == []


@pytest.mark.parametrize("password", ["short", "        ", "aaaaaaaaaa", "abababab"])
def test_weak_passwords_are_refused(password: str) -> None:
    with pytest.raises(WeakPassword):
        check_password_strength(password)


# -- sessions and refresh tokens ---------------------------------------------------


def test_rotated_refresh_token_reused_is_detected() -> None:
    with acting(ANN):
        session = Session(user_id=uuid4(), token_id="t1")
        session.rotate("t1", "t2")
        with pytest.raises(RefreshTokenReused):
            session.rotate("t1", "t3")
    assert session.token_id == "t2"


def test_revoked_session_refuses_even_its_current_token() -> None:
    with acting(ANN):
        session = Session(user_id=uuid4(), token_id="t1")
        session.revoke("logout")
        with pytest.raises(InvalidToken) as caught:
            session.rotate("t1", "t2")
    assert type(caught.value) is InvalidToken
    assert session.revoked_reason == "logout"


def test_reusing_a_refresh_token_ends_the_session_for_everyone() -> None:
    app = new_app()
    _, session_id, first = sign_up(app)
    second = app.refresh(ANN, session_id=session_id, token_id=first, credentials_version=1)
    with pytest.raises(RefreshTokenReused):
        app.refresh(ANN, session_id=session_id, token_id=first, credentials_version=1)
    with pytest.raises(InvalidToken):
        app.refresh(ANN, session_id=session_id, token_id=second.token_id, credentials_version=1)


def test_refresh_tokens_stop_working_after_a_password_change() -> None:
    app = new_app()
    user_id, session_id, token = sign_up(app)
    app.change_password(ANN, user_id, old_password="correct horse", new_password="battery staple")
    with pytest.raises(InvalidToken):
        app.refresh(ANN, session_id=session_id, token_id=token, credentials_version=1)


# -- emails, time zones, roles, limits ---------------------------------------------


def test_email_is_normalised_case_insensitively() -> None:
    assert normalise_email("  Ann@Example.COM ") == "ann@example.com"
    app = new_app()
    user_id, _, _ = sign_up(app, email=" Ann@Example.com")
    found = app.find_user_by_email("ANN@EXAMPLE.COM  ")
    assert found is not None and (found.id, found.email) == (user_id, "ann@example.com")
    with pytest.raises(EmailAlreadyRegistered):
        sign_up(app, email="aNN@example.com")


@pytest.mark.parametrize("zone", ["", "utc", "Mars/Olympus", "Europe/Londn", "GMT+25"])
def test_unknown_timezones_are_refused(zone: str) -> None:
    user = new_user()
    with acting(ANN), pytest.raises(InvalidTimezone):
        user.update_profile(timezone=zone)
    assert user.timezone == "UTC"


@pytest.mark.parametrize("zone", ["UTC", "Europe/London", "Australia/Lord_Howe", "Etc/GMT-14"])
def test_iana_timezones_are_accepted(zone: str) -> None:
    user = new_user()
    with acting(ANN):
        user.update_profile(timezone=zone)
    assert user.timezone == zone


def test_a_client_user_needs_a_client() -> None:
    with acting(ANN):
        with pytest.raises(AccountDisabled):
            User.register(email="a@b.co", name="A", password_hash="h", client_id=None)
        staff = User.register(email="a@b.co", name="A", password_hash="h", client_id=None,
                              role=Role.STAFF)
        with pytest.raises(AccountDisabled):
            staff.change_role(Role.CLIENT)
    assert staff.role is Role.STAFF


def test_negative_limits_are_refused() -> None:
    with acting(ANN):
        with pytest.raises(InvalidLimits):
            Client.register(name="Bakery", email="b@example.com", max_devices=-1)
        client = Client.register(name="Bakery", email="b@example.com")
        with pytest.raises(InvalidLimits):
            client.change_details(max_storage_gb=-1)
    assert client.max_storage_gb is None and client.limit("max_storage_gb") == 10


def test_status_cannot_be_changed_as_a_detail() -> None:
    with acting(ANN):
        client = Client.register(name="Bakery", email="b@example.com")
        with pytest.raises(InvalidLimits):
            client.change_details(status="cancelled", name="Sneaky")
    assert (client.status, client.name) == (SubscriptionStatus.ACTIVE, "Bakery")


def test_changing_nothing_records_nothing() -> None:
    user = new_user()
    with acting(ANN):
        client = Client.register(name="Bakery", email="b@example.com")
        client.change_details(name="Bakery", max_devices=None)  # the tier's, as it was
        client.change_status(SubscriptionStatus.ACTIVE)
        user.update_profile(name=" Ann ", timezone="UTC")
        user.set_active(True)
        user.change_role(Role.CLIENT)
    assert (client.version, user.version) == (1, 1)


def test_a_deactivated_user_cannot_log_in() -> None:
    user = new_user()
    with acting(ANN):
        user.set_active(False)
        with pytest.raises(AccountDisabled):
            user.record_login(NOW)
    assert user.last_login is None


@pytest.mark.parametrize("status", [SubscriptionStatus.SUSPENDED, SubscriptionStatus.CANCELLED])
def test_users_of_a_suspended_or_cancelled_client_cannot_log_in(status: SubscriptionStatus) -> None:
    app = new_app()
    user_id, _, _ = sign_up(app)
    app.change_client_status(ANN, app.get_user(user_id).client_id, status)
    with pytest.raises(AccountDisabled):
        app.login(ANN, email="ann@example.com", password="correct horse")


# -- who did it ------------------------------------------------------------------


def test_events_outside_a_command_context_are_refused() -> None:
    with pytest.raises(RuntimeError, match="acting"):
        Client.register(name="Bakery", email="b@example.com")
    user = new_user()
    with pytest.raises(RuntimeError, match="acting"):
        user.change_password("h2")
    assert (user.version, user.password_hash, len(user.pending_events)) == (1, "h1", 1)


def test_events_carry_the_actor_and_correlation_id_of_their_command() -> None:
    user = new_user()
    with acting(CommandContext(Actor.system("scheduler"), "corr-2")):
        user.record_login(NOW)
    stamps = [(e.actor_kind, e.actor_id, e.correlation_id) for e in user.collect_events()]
    assert stamps == [("user", "ann", "corr-1"), ("system", "scheduler", "corr-2")]


def test_stored_events_keep_their_actor_when_replayed_under_another_context() -> None:
    app = new_app()
    user = new_user()
    app.save(user)
    with acting(CommandContext(Actor(ActorKind.DEVICE, "kiosk"), "corr-9")):
        copy = app.repository.get(user.id)
        [stored] = app.events.get(user.id)
    assert copy == user
    assert (stored.actor_kind, stored.actor_id, stored.correlation_id) == ("user", "ann", "corr-1")


def test_a_user_loaded_from_a_snapshot_keeps_its_role() -> None:
    # AccountsApplication snapshots a User every 50 events; the role must come back
    # as a Role from the snapshot's JSON (the 49th login after sign-up loads one).
    app = new_app()
    sign_up(app)
    for _ in range(49):
        grant = app.login(ANN, email="ann@example.com", password="correct horse")
    assert grant.user.version == 51
    assert grant.user.role is Role.CLIENT
