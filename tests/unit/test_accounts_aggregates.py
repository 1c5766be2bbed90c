"""State machines for the accounts aggregates: Client, User and Session.

Each machine drives one aggregate through every public command with generated
input (valid and invalid), keeps a plain model of the state it expects, and
after every command saves the aggregate in an in-memory AccountsApplication.
Its invariants check the model, that loading from the store and folding the
raw events both give back exactly the live object (attribute types included:
a StrEnum equals its string, so `==` alone would not notice a lost enum), and
that every stored event names the actor and request that caused it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import UUID

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from application.accounts import AccountsApplication
from domain.accounts import (
    AccountDisabled,
    InvalidLimits,
    InvalidTimezone,
    InvalidToken,
    RefreshTokenReused,
    Role,
    SubscriptionStatus,
    Tier,
)
from domain.base import Actor, ActorKind, CommandContext, acting
from domain.client import Client
from domain.session import Session
from domain.user import User

IN_MEMORY = {"PERSISTENCE_MODULE": "eventsourcing.popo"}
T0 = datetime(2025, 3, 30, 0, 30, tzinfo=UTC)

contexts = st.builds(
    lambda kind, who, corr: CommandContext(Actor(kind, who), corr),
    st.sampled_from(ActorKind),
    st.text(max_size=6),
    st.text(min_size=1, max_size=8),
)
moments = st.integers(min_value=0, max_value=180).map(lambda m: T0 + timedelta(minutes=m))
dates = st.dates(min_value=date(2020, 1, 1), max_value=date(2030, 12, 31))
stripped_text = st.text(max_size=10).map(str.strip)
limits = st.integers(min_value=-3, max_value=1000)
valid_zones = st.sampled_from(
    ["UTC", "Europe/London", "America/New_York", "Asia/Kolkata", "Etc/GMT+5", "Pacific/Chatham"]
)
invalid_zones = st.sampled_from(
    ["", "utc", " UTC", "Mars/Olympus", "Europe/Londn", "europe/london", "GMT+25", "../etc/passwd"]
)
zones = st.one_of(valid_zones.map(lambda z: (z, True)), invalid_zones.map(lambda z: (z, False)))
# A small pool, so that presented reset tokens often (not always) match the stored one.
reset_tokens = st.sampled_from(["tok-a", "tok-b", "tok-c"])
# When a reset token is used, relative to its expiry: the boundary is where bugs hide.
around_expiry = st.sampled_from(
    [timedelta(hours=-1), timedelta(microseconds=-1), timedelta(0),
     timedelta(microseconds=1), timedelta(hours=1)]
)


def typed_state(aggregate: Any) -> dict[str, tuple[type, Any]]:
    return {k: (type(v), v) for k, v in vars(aggregate).items() if k != "_pending_events"}


def stamp(ctx: CommandContext) -> tuple[str, str, str]:
    return (ctx.actor.kind.value, ctx.actor.id, ctx.correlation_id)


class AggregateMachine(RuleBasedStateMachine):
    """Runs commands under a context, saves, and checks replay and stamps."""

    def __init__(self) -> None:
        super().__init__()
        self.app = AccountsApplication(env=IN_MEMORY)
        self.agg: Any = None
        self.events: list[Any] = []
        self.stamps: list[tuple[str, str, str]] = []  # expected stamp of each event, in order
        self.expected: dict[str, Any] = {}

    def run(self, ctx: CommandContext, command: Callable[[], Any]) -> Any:
        with acting(ctx):
            result = command()
        self.agg = result if self.agg is None else self.agg
        self.save(ctx)
        return result

    def refused(
        self, error: type[Exception], ctx: CommandContext, command: Callable[[], Any]
    ) -> None:
        version = None if self.agg is None else self.agg.version
        with pytest.raises(error) as caught, acting(ctx):
            command()
        assert type(caught.value) is error  # e.g. InvalidToken, not its RefreshTokenReused
        if self.agg is not None:  # a refused command leaves no trace
            assert self.agg.version == version and not self.agg.pending_events

    def save(self, ctx: CommandContext) -> None:
        pending = list(self.agg.pending_events)
        self.events += pending
        self.stamps += [stamp(ctx)] * len(pending)
        self.app.save(self.agg)

    def expect(self, **changes: Any) -> None:
        self.expected.update(changes)

    @invariant()
    def live_state_matches_the_model(self) -> None:
        actual = {k: getattr(self.agg, k) for k in self.expected}
        assert actual == self.expected
        assert {k: type(v) for k, v in actual.items()} == {
            k: type(v) for k, v in self.expected.items()
        }
        assert self.agg.version == len(self.events)

    @invariant()
    def loading_from_the_store_gives_the_same_state(self) -> None:
        stored = self.app.repository.get(self.agg.id)
        assert stored == self.agg
        assert typed_state(stored) == typed_state(self.agg)

    @invariant()
    def folding_the_raw_events_gives_the_same_state(self) -> None:
        folded = None
        for event in self.events:
            folded = event.mutate(folded)
        assert typed_state(folded) == typed_state(self.agg)

    @invariant()
    def every_stored_event_names_its_actor_and_request(self) -> None:
        stored = list(self.app.events.get(self.agg.id))
        assert [(e.actor_kind, e.actor_id, e.correlation_id) for e in stored] == self.stamps


CLIENT_FIELDS = {
    "name", "email", "phone", "tier", "subscription_start",
    "subscription_end", "max_devices", "max_storage_gb", "is_active",
}
tiers = st.sampled_from(Tier) | st.sampled_from([t.value for t in Tier])
statuses = st.sampled_from(SubscriptionStatus) | st.sampled_from(
    [s.value for s in SubscriptionStatus]
)
client_changes = st.fixed_dictionaries(
    {},
    optional={
        # change_details does not strip names (register does), so give it stripped ones
        "name": stripped_text, "email": st.emails(), "phone": st.text(max_size=5),
        "tier": tiers, "subscription_start": st.none() | dates,
        "subscription_end": st.none() | dates, "max_devices": limits,
        "max_storage_gb": limits, "is_active": st.booleans(),
        "status": statuses, "colour": st.text(max_size=3),  # not changeable this way
    },
)


class ClientMachine(AggregateMachine):
    @initialize(ctx=contexts, name=st.text(max_size=10), email=st.emails(),
                phone=st.text(max_size=5), tier=tiers, start=st.none() | dates,
                devices=limits, storage=limits)
    def register(self, ctx: CommandContext, name: str, email: str, phone: str, tier: str,
                 start: date | None, devices: int, storage: int) -> None:
        """Negative limits are refused; the corrected registration goes through."""
        def command() -> Client:  # reads devices/storage when called, after any correction
            return Client.register(name=name, email=email, phone=phone, tier=Tier(tier),
                                   subscription_start=start, max_devices=devices,
                                   max_storage_gb=storage)
        if devices < 0 or storage < 0:
            self.refused(InvalidLimits, ctx, command)
            devices, storage = abs(devices), abs(storage)
        self.run(ctx, command)
        self.expect(name=name.strip(), email=email, phone=phone, tier=Tier(tier),
                    status=SubscriptionStatus.ACTIVE, subscription_start=start,
                    subscription_end=None, max_devices=devices, max_storage_gb=storage,
                    is_active=True)

    @rule(ctx=contexts, changes=client_changes)
    def change_details(self, ctx: CommandContext, changes: dict[str, Any]) -> None:
        new = {k: Tier(v) if k == "tier" else v for k, v in changes.items()}
        merged = {**self.expected, **new}
        negative = merged["max_devices"] < 0 or merged["max_storage_gb"] < 0
        if set(changes) - CLIENT_FIELDS or negative:
            return self.refused(InvalidLimits, ctx, lambda: self.agg.change_details(**changes))
        before = self.agg.version
        self.run(ctx, lambda: self.agg.change_details(**changes))
        changed = any(self.expected[k] != v for k, v in new.items())
        assert self.agg.version == before + changed
        self.expect(**new)

    @rule(ctx=contexts, status=statuses)
    def change_status(self, ctx: CommandContext, status: str) -> None:
        before = self.agg.version
        self.run(ctx, lambda: self.agg.change_status(SubscriptionStatus(status)))
        changed = self.expected["status"] is not SubscriptionStatus(status)
        assert self.agg.version == before + changed
        self.expect(status=SubscriptionStatus(status))

    @invariant()
    def only_an_active_client_in_good_standing_can_log_in(self) -> None:
        good = self.expected["is_active"] and self.expected["status"] == "active"
        assert self.agg.can_log_in == good


class UserMachine(AggregateMachine):
    @initialize(ctx=contexts, email=st.emails(), name=st.text(max_size=10),
                pw=st.text(max_size=6), client_id=st.none() | st.uuids(),
                role=st.sampled_from(Role), zone=zones, chosen_id=st.none() | st.uuids(),
                fallback_client_id=st.uuids())
    def register(self, ctx: CommandContext, email: str, name: str, pw: str,
                 client_id: UUID | None, role: Role, zone: tuple[str, bool],
                 chosen_id: UUID | None, fallback_client_id: UUID) -> None:
        """Each broken rule is refused in turn; the corrected registration goes through."""
        def command() -> User:  # reads client_id/zone when called, after any correction
            return User.register(email=email, name=name, password_hash=pw, client_id=client_id,
                                 role=role, timezone=zone[0], id=chosen_id)
        if role is Role.CLIENT and client_id is None:
            self.refused(AccountDisabled, ctx, command)
            client_id = fallback_client_id
        if not zone[1]:
            self.refused(InvalidTimezone, ctx, command)
            zone = ("UTC", True)
        user = self.run(ctx, command)
        assert chosen_id is None or user.id == chosen_id
        self.expect(email=email, name=name.strip(), client_id=client_id, role=role, phone="",
                    timezone=zone[0], password_hash=pw, is_active=True, credentials_version=1,
                    reset_token_hash=None, reset_expires_at=None, last_login=None,
                    avatar_key=None, avatar_thumbnail_key=None)

    @rule(ctx=contexts, name=st.none() | st.text(max_size=10),
          phone=st.none() | st.text(max_size=5), zone=st.none() | zones)
    def update_profile(self, ctx: CommandContext, name: str | None, phone: str | None,
                       zone: tuple[str, bool] | None) -> None:
        def command() -> None:
            self.agg.update_profile(name=name, phone=phone, timezone=zone and zone[0])
        if zone is not None and not zone[1]:
            return self.refused(InvalidTimezone, ctx, command)
        new = {"name": self.expected["name"] if name is None else name.strip(),
               "phone": self.expected["phone"] if phone is None else phone,
               "timezone": self.expected["timezone"] if zone is None else zone[0]}
        before = self.agg.version
        self.run(ctx, command)
        assert self.agg.version == before + any(self.expected[k] != v for k, v in new.items())
        self.expect(**new)

    @rule(ctx=contexts, at=moments)
    def record_login(self, ctx: CommandContext, at: datetime) -> None:
        if not self.expected["is_active"]:
            return self.refused(AccountDisabled, ctx, lambda: self.agg.record_login(at))
        self.run(ctx, lambda: self.agg.record_login(at))
        self.expect(last_login=at)

    def password_changed(self, password_hash: str) -> None:
        self.expect(password_hash=password_hash, reset_token_hash=None, reset_expires_at=None,
                    credentials_version=self.expected["credentials_version"] + 1)

    @rule(ctx=contexts, pw=st.text(max_size=6))
    def change_password(self, ctx: CommandContext, pw: str) -> None:
        self.run(ctx, lambda: self.agg.change_password(pw))
        self.password_changed(pw)

    @rule(ctx=contexts, token=reset_tokens, expires_at=moments)
    def request_password_reset(self, ctx: CommandContext, token: str, expires_at: datetime) -> None:
        self.run(ctx, lambda: self.agg.request_password_reset(token, expires_at))
        self.expect(reset_token_hash=token, reset_expires_at=expires_at)

    @rule(ctx=contexts, token=reset_tokens, pw=st.text(max_size=6), offset=around_expiry)
    def reset_password(self, ctx: CommandContext, token: str, pw: str, offset: timedelta) -> None:
        expires_at = self.expected["reset_expires_at"]
        now = (expires_at or T0) + offset
        works = token == self.expected["reset_token_hash"] and expires_at and now < expires_at
        if not works:
            return self.refused(InvalidToken, ctx, lambda: self.agg.reset_password(token, pw, now))
        self.run(ctx, lambda: self.agg.reset_password(token, pw, now))
        self.password_changed(pw)

    @rule(ctx=contexts, role=st.sampled_from(Role))
    def change_role(self, ctx: CommandContext, role: Role) -> None:
        changed = role is not self.expected["role"]
        if changed and role is Role.CLIENT and self.expected["client_id"] is None:
            return self.refused(AccountDisabled, ctx, lambda: self.agg.change_role(role))
        before = self.agg.version
        self.run(ctx, lambda: self.agg.change_role(role))
        assert self.agg.version == before + changed
        self.expect(role=role)

    @rule(ctx=contexts, active=st.booleans())
    def set_active(self, ctx: CommandContext, active: bool) -> None:
        before = self.agg.version
        self.run(ctx, lambda: self.agg.set_active(active))
        assert self.agg.version == before + (active != self.expected["is_active"])
        self.expect(is_active=active)

    @rule(ctx=contexts, ext=st.sampled_from(["png", "jpeg", "webp"]))
    def set_avatar(self, ctx: CommandContext, ext: str) -> None:
        key, thumb = f"users/{self.agg.id}/avatar.{ext}", f"users/{self.agg.id}/avatar-thumb.jpg"
        self.run(ctx, lambda: self.agg.set_avatar(key, thumb))
        self.expect(avatar_key=key, avatar_thumbnail_key=thumb)

    @rule(ctx=contexts)
    def remove_avatar(self, ctx: CommandContext) -> None:
        before = self.agg.version
        removed = self.run(ctx, self.agg.remove_avatar)
        assert removed is (self.expected["avatar_key"] is not None)
        assert self.agg.version == before + removed
        self.expect(avatar_key=None, avatar_thumbnail_key=None)

    @invariant()
    def a_client_user_always_has_a_client(self) -> None:
        if self.agg.role is Role.CLIENT:
            assert self.agg.client_id is not None


class SessionMachine(AggregateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.issued = 0
        self.retired: list[str] = []

    def new_token_id(self) -> str:
        self.issued += 1
        return f"token-{self.issued}"

    @initialize(ctx=contexts, user_id=st.uuids())
    def start(self, ctx: CommandContext, user_id: UUID) -> None:
        token_id = self.new_token_id()
        self.run(ctx, lambda: Session(user_id=user_id, token_id=token_id))
        self.expect(user_id=user_id, token_id=token_id, revoked_reason=None)

    @rule(ctx=contexts, data=st.data())
    def rotate(self, ctx: CommandContext, data: st.DataObject) -> None:
        current = self.expected["token_id"]
        presented = data.draw(st.sampled_from([current, "never-issued", *self.retired]))
        new = self.new_token_id()

        def command() -> None:
            self.agg.rotate(presented, new)

        if self.expected["revoked_reason"] is not None:
            return self.refused(InvalidToken, ctx, command)
        if presented != current:
            return self.refused(RefreshTokenReused, ctx, command)
        self.run(ctx, command)
        self.retired.append(current)
        self.expect(token_id=new)

    @rule(ctx=contexts, reason=st.sampled_from(["logout", "refresh token reused", ""]))
    def revoke(self, ctx: CommandContext, reason: str) -> None:
        before = self.agg.version
        self.run(ctx, lambda: self.agg.revoke(reason))
        first = self.expected["revoked_reason"] is None
        assert self.agg.version == before + first
        if first:
            self.expect(revoked_reason=reason)

    @invariant()
    def revoked_exactly_when_a_reason_is_recorded(self) -> None:
        assert self.agg.is_revoked == (self.expected["revoked_reason"] is not None)


MACHINE_SETTINGS = settings(max_examples=50, stateful_step_count=20, deadline=None)

TestClientCommandsReplayFaithfully = ClientMachine.TestCase
TestUserCommandsReplayFaithfully = UserMachine.TestCase
TestSessionCommandsReplayFaithfully = SessionMachine.TestCase
TestClientCommandsReplayFaithfully.settings = MACHINE_SETTINGS
TestUserCommandsReplayFaithfully.settings = MACHINE_SETTINGS
TestSessionCommandsReplayFaithfully.settings = MACHINE_SETTINGS
