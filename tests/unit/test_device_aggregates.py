"""Devices context: Device, DeviceRoster and PairingCode aggregates, and the application rules.

The state machines drive a Device and a DeviceRoster through every command with
generated input (valid and invalid), keep a plain model of the expected state,
save after every command in an in-memory `DevicesApplication()`, and check that
loading from the store and folding the raw events both give back the live object.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from application.devices import DevicesApplication, new_pairing_code
from domain.accounts import InvalidToken
from domain.base import Actor, ActorKind, CommandContext, NotFound, acting
from domain.device import (
    Device,
    DeviceDeleted,
    DeviceRoster,
    HardwareIdTaken,
    InvalidDevice,
    InvalidVolume,
    PairingCodeInvalid,
    TooManyDevices,
    roster_id,
)
from domain.pairing import ALPHABET, CODE_LENGTH, PairingCode, pairing_code_id

T0 = datetime(2025, 6, 1, 9, 0, tzinfo=UTC)
CTX = CommandContext(Actor(ActorKind.USER, "ann"), "req-1")
CLIENT, OTHER = uuid.uuid4(), uuid.uuid4()
ZONES = [uuid.uuid4() for _ in range(3)]
OTHER_ZONE = uuid.uuid4()
ZONE_OWNERS = {**dict.fromkeys(ZONES, CLIENT), OTHER_ZONE: OTHER}


class Clock:
    def __init__(self, now: datetime = T0) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def make_app(clock: Clock | None = None, **kwargs: Any) -> DevicesApplication:
    return DevicesApplication(zone_owner=ZONE_OWNERS.get, clock=clock or Clock(), **kwargs)


def register(app: DevicesApplication, hardware_id: str = "hw-1", *, client: UUID = CLIENT,
             zone: UUID = ZONES[0], max_devices: int = 5) -> Device:
    device, _ = app.register(CTX, client, hardware_id=hardware_id, name="Till speaker",
                             device_type="speaker", zone_id=zone, max_devices=max_devices)
    return device


def new_device(**overrides: Any) -> Device:
    fields = {"client_id": CLIENT, "zone_id": ZONES[0], "hardware_id": "hw-1",
              "name": "Till", "device_type": "speaker", **overrides}
    with acting(CTX):
        return Device.register(**fields)


# -- Device examples ---------------------------------------------------------------------


def test_a_registered_device_starts_offline_at_volume_70_without_a_token() -> None:
    device = new_device(name="  Bar speaker ", model=" X1 ", hardware_id=" AB:CD ")
    assert (device.name, device.model, device.device_id) == ("Bar speaker", "X1", "AB:CD")
    assert (device.volume, device.is_online, device.token_id) == (70, False, None)


@pytest.mark.parametrize("field, value", [
    ("name", "  "), ("device_type", ""), ("hardware_id", " "), ("name", "x" * 256),
    ("model", "m" * 101), ("firmware_version", "f" * 51),
])
def test_a_device_needs_its_fields_within_their_lengths(field: str, value: str) -> None:
    with pytest.raises(InvalidDevice):
        new_device(**{field: value})


@pytest.mark.parametrize("volume", [-1, 101, True, 50.5, "50"])
def test_volume_is_a_whole_number_from_0_to_100(volume: Any) -> None:
    device = new_device()
    with acting(CTX), pytest.raises(InvalidVolume):
        device.set_volume(volume)
    with acting(CTX):
        assert device.set_volume(0) and device.set_volume(100)
        assert not device.set_volume(100)
    assert device.volume == 100


def test_presence_records_only_transitions() -> None:
    device = new_device()
    with acting(CTX):
        assert not device.go_offline(T0)
        assert device.go_online("10.0.0.7", T0)
        assert not device.go_online("10.0.0.8", T0 + timedelta(seconds=5))
        assert device.go_offline(T0 + timedelta(seconds=20))
        assert device.go_online(None, T0 + timedelta(minutes=1))
    assert (device.is_online, device.ip_address, device.last_seen) == (
        True, "10.0.0.7", T0 + timedelta(minutes=1))
    kinds = [type(e).__name__ for e in device.pending_events]
    assert kinds == ["Registered", "WentOnline", "WentOffline", "WentOnline"]


def test_commands_outside_a_command_context_are_refused() -> None:
    with pytest.raises(RuntimeError, match="acting"):
        Device.register(client_id=CLIENT, zone_id=ZONES[0], hardware_id="h", name="n",
                        device_type="speaker")


def test_a_deleted_device_refuses_every_command() -> None:
    device = new_device()
    with acting(CTX):
        device.issue_token("t1")
        device.delete()
    assert device.token_id is None and device.is_deleted
    for command in (lambda: device.set_volume(5), lambda: device.update(name="x"),
                    lambda: device.go_online(None, T0), lambda: device.issue_token("t2"),
                    device.delete):
        with acting(CTX), pytest.raises(DeviceDeleted):
            command()


def test_the_roster_refuses_a_device_beyond_the_limit() -> None:
    with acting(CTX):
        roster = DeviceRoster(client_id=CLIENT)
        a, b = uuid.uuid4(), uuid.uuid4()
        assert roster.add(a, 1)
        assert not roster.add(a, 1)  # already there: no new slot needed
        with pytest.raises(TooManyDevices, match="device limit reached: 1 of 1"):
            roster.add(b, 1)
        assert roster.remove(a) and roster.add(b, 1)
    assert roster.id == roster_id(CLIENT) and roster.device_ids == {b}


# -- PairingCode examples ------------------------------------------------------------------


def test_a_pairing_code_works_once_and_for_ten_minutes() -> None:
    with acting(CTX):
        code = PairingCode.create(code="abcd-efgh", zone_id=ZONES[0], client_id=CLIENT, now=T0)
    assert code.code == "ABCDEFGH" and code.id == pairing_code_id("ABCDEFGH")
    assert code.expires_at == T0 + timedelta(minutes=10)
    assert code.is_usable(code.expires_at - timedelta(microseconds=1))
    assert not code.is_usable(code.expires_at)
    with acting(CTX), pytest.raises(PairingCodeInvalid, match="expired"):
        code.use(uuid.uuid4(), code.expires_at)
    with acting(CTX):
        code.use(device := uuid.uuid4(), T0)
    assert code.used_by == device
    with acting(CTX), pytest.raises(PairingCodeInvalid, match="already been used"):
        code.use(uuid.uuid4(), T0)


def test_generated_codes_use_the_unambiguous_alphabet() -> None:
    codes = {new_pairing_code() for _ in range(200)}
    assert len(codes) == 200
    assert all(len(c) == CODE_LENGTH and set(c) <= set(ALPHABET) for c in codes)
    assert not set("01OIL") & set(ALPHABET)


# -- the application's rules (in memory) -----------------------------------------------------


def test_a_hardware_id_is_unique_across_clients_until_its_device_is_deleted() -> None:
    app = make_app()
    device = register(app, "hw-x")
    with pytest.raises(HardwareIdTaken):
        register(app, "hw-x", client=OTHER, zone=OTHER_ZONE)
    app.delete(CTX, CLIENT, device.id)
    again = register(app, "hw-x", client=OTHER, zone=OTHER_ZONE)
    assert again.client_id == OTHER and app.device_count(CLIENT) == 0


def test_registering_needs_a_zone_of_the_same_client() -> None:
    app = make_app()
    for zone in (OTHER_ZONE, uuid.uuid4()):
        with pytest.raises(NotFound, match="zone"):
            register(app, zone=zone)


def test_the_device_limit_counts_live_devices() -> None:
    app = make_app()
    first = register(app, "a", max_devices=2)
    register(app, "b", max_devices=2)
    with pytest.raises(TooManyDevices, match="2 of 2"):
        register(app, "c", max_devices=2)
    app.delete(CTX, None, first.id)
    register(app, "c", max_devices=2)
    assert app.device_count(CLIENT) == 2


def test_concurrent_registrations_never_exceed_the_limit() -> None:
    app = make_app()
    barrier, outcomes = threading.Barrier(8), []

    def attempt(n: int) -> None:
        barrier.wait()
        try:
            register(app, f"race-{n}", max_devices=5)
            outcomes.append("ok")
        except TooManyDevices:
            outcomes.append("full")

    threads = [threading.Thread(target=attempt, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["full"] * 3 + ["ok"] * 5


def test_another_clients_device_looks_absent() -> None:
    app = make_app()
    device = register(app)
    for command in (lambda: app.set_volume(CTX, OTHER, device.id, 10),
                    lambda: app.update(CTX, OTHER, device.id, name="x"),
                    lambda: app.delete(CTX, OTHER, device.id),
                    lambda: app.issue_token(CTX, OTHER, device.id),
                    lambda: app.get_device(uuid.uuid4())):
        with pytest.raises(NotFound):
            command()
    with pytest.raises(NotFound, match="zone"):  # moving it to another client's zone
        app.update(CTX, CLIENT, device.id, zone_id=OTHER_ZONE)


def test_update_moves_the_device_and_changes_only_what_differs() -> None:
    app = make_app()
    device = register(app)
    moved, position = app.update(CTX, CLIENT, device.id, zone_id=ZONES[1], name="Till speaker",
                                 model="M2")
    assert (moved.zone_id, moved.model, moved.version) == (ZONES[1], "M2", 3)
    assert position is not None
    _, nothing = app.update(CTX, CLIENT, device.id, zone_id=ZONES[1])
    assert nothing is None


def test_pairing_registers_the_device_in_the_codes_zone_and_spends_the_code() -> None:
    clock = Clock()
    app = make_app(clock)
    code, expires_at = app.create_pairing_code(CTX, CLIENT, ZONES[2])
    assert expires_at == T0 + timedelta(minutes=10)
    grant = app.pair(CTX, code=code.lower(), hardware_id="hw-p", name="Lobby",
                     device_type="tablet", max_devices_for=lambda _: 5)
    assert (grant.device.zone_id, grant.device.client_id) == (ZONES[2], CLIENT)
    assert app.check_token(grant.device.id, grant.token_id) == app.get_device(grant.device.id)
    with pytest.raises(PairingCodeInvalid, match="used"):
        app.pair(CTX, code=code, hardware_id="hw-q", name="x", device_type="tablet",
                 max_devices_for=lambda _: 5)
    with pytest.raises(PairingCodeInvalid, match="not valid"):
        app.pair(CTX, code="ZZZZZZZZ", hardware_id="hw-q", name="x", device_type="tablet",
                 max_devices_for=lambda _: 5)


def test_an_expired_or_full_pairing_leaves_the_code_unused() -> None:
    clock = Clock()
    app = make_app(clock)
    code, _ = app.create_pairing_code(CTX, CLIENT, ZONES[0])
    with pytest.raises(TooManyDevices):
        app.pair(CTX, code=code, hardware_id="hw-p", name="x", device_type="speaker",
                 max_devices_for=lambda _: 0)
    clock.now += timedelta(minutes=10)
    with pytest.raises(PairingCodeInvalid, match="expired"):
        app.pair(CTX, code=code, hardware_id="hw-p", name="x", device_type="speaker",
                 max_devices_for=lambda _: 5)
    assert app.repository.get(pairing_code_id(code)).used_by is None


def test_pairing_a_known_device_again_moves_it_and_replaces_its_token() -> None:
    app = make_app()
    device = register(app, "hw-r")
    first, _ = app.create_pairing_code(CTX, CLIENT, ZONES[1])
    old = app.pair(CTX, code=first, hardware_id="hw-r", name="ignored", device_type="speaker",
                   firmware_version="2.0", max_devices_for=lambda _: 1)
    second, _ = app.create_pairing_code(CTX, CLIENT, ZONES[2])
    new = app.pair(CTX, code=second, hardware_id="hw-r", name="ignored", device_type="speaker",
                   max_devices_for=lambda _: 1)
    assert new.device.id == old.device.id == device.id
    assert (new.device.zone_id, new.device.name, new.device.firmware_version) == (
        ZONES[2], "Till speaker", "2.0")
    with pytest.raises(InvalidToken):
        app.check_token(device.id, old.token_id)
    other_code, _ = app.create_pairing_code(CTX, OTHER, OTHER_ZONE)
    with pytest.raises(HardwareIdTaken):
        app.pair(CTX, code=other_code, hardware_id="hw-r", name="x", device_type="speaker",
                 max_devices_for=lambda _: 5)


def test_a_colliding_pairing_code_is_drawn_again() -> None:
    draws = iter(["AAAAAAAA", "AAAAAAAA", "BBBBBBBB"])
    app = make_app(new_code=lambda: next(draws))
    assert app.create_pairing_code(CTX, None, ZONES[0])[0] == "AAAAAAAA"
    assert app.create_pairing_code(CTX, None, ZONES[0])[0] == "BBBBBBBB"


def test_revoked_rotated_and_deleted_tokens_are_refused() -> None:
    app = make_app()
    device = register(app)
    with pytest.raises(InvalidToken):
        app.check_token(device.id, "anything")
    first = app.issue_token(CTX, CLIENT, device.id)
    second = app.issue_token(CTX, CLIENT, device.id)
    assert app.check_token(device.id, second.token_id).id == device.id
    with pytest.raises(InvalidToken):
        app.check_token(device.id, first.token_id)
    app.revoke_token(CTX, CLIENT, device.id)
    with pytest.raises(InvalidToken):
        app.check_token(device.id, second.token_id)
    third = app.issue_token(CTX, None, device.id)
    app.delete(CTX, CLIENT, device.id)
    with pytest.raises(InvalidToken):
        app.check_token(device.id, third.token_id)


def test_marking_presence_stores_events_only_on_transitions() -> None:
    app = make_app()
    device = register(app)
    assert app.mark_online(CTX, device.id, "192.0.2.1")[1] is not None
    assert app.mark_online(CTX, device.id, "192.0.2.1")[1] is None
    assert app.mark_offline(CTX, device.id, T0)[1] is not None
    assert app.mark_offline(CTX, device.id)[1] is None
    assert app.get_device(device.id).version == 3


def test_long_lived_devices_and_rosters_load_from_snapshots() -> None:
    app = make_app()
    device = register(app)
    for n in range(50):
        app.mark_online(CTX, device.id, f"10.0.0.{n}")
        app.mark_offline(CTX, device.id, T0 + timedelta(minutes=n))
    roster_stream = roster_id(CLIENT)
    with acting(CTX):
        roster = app.repository.get(roster_stream)
        for _ in range(50):
            spare = uuid.uuid4()
            roster.add(spare, 5)
            roster.remove(spare)
    app.save(roster)

    for aggregate_id in (device.id, roster_stream):
        assert app.snapshots is not None and list(app.snapshots.get(aggregate_id))
    loaded = app.get_device(device.id)
    assert (loaded.version, loaded.ip_address, loaded.device_id) == (101, "10.0.0.49", "hw-1")
    assert app.repository.get(roster_stream).device_ids == {device.id}


# -- state machines ------------------------------------------------------------------------

contexts = st.builds(
    lambda kind, who, corr: CommandContext(Actor(kind, who), corr),
    st.sampled_from(ActorKind), st.text(max_size=6), st.text(min_size=1, max_size=8),
)
moments = st.integers(min_value=0, max_value=600).map(lambda s: T0 + timedelta(seconds=s))
short_text = st.text(max_size=8) | st.just("x" * 300)
ips = st.none() | st.sampled_from(["10.0.0.1", "192.0.2.9", "2001:db8::1"])
tokens = st.sampled_from(["tok-a", "tok-b", "tok-c"])
device_changes = st.fixed_dictionaries({}, optional={
    "name": short_text, "device_type": short_text, "model": short_text,
    "firmware_version": short_text, "colour": st.text(max_size=3),
})
LIMITS = {"name": 255, "device_type": 50, "model": 100, "firmware_version": 50}


def typed_state(aggregate: Any) -> dict[str, tuple[type, Any]]:
    return {k: (type(v), v) for k, v in vars(aggregate).items() if k != "_pending_events"}


def stamp(ctx: CommandContext) -> tuple[str, str, str]:
    return (ctx.actor.kind.value, ctx.actor.id, ctx.correlation_id)


class Machine(RuleBasedStateMachine):
    """Runs commands under a context, saves, and checks replay and stamps."""

    def __init__(self) -> None:
        super().__init__()
        self.app = DevicesApplication()
        self.agg: Any = None
        self.events: list[Any] = []
        self.stamps: list[tuple[str, str, str]] = []
        self.expected: dict[str, Any] = {}

    def run(self, ctx: CommandContext, command: Callable[[], Any]) -> Any:
        with acting(ctx):
            result = command()
        pending = list(self.agg.pending_events)
        self.events += pending
        self.stamps += [stamp(ctx)] * len(pending)
        self.app.save(self.agg)
        return result

    def refused(self, error: type[Exception], ctx: CommandContext,
                command: Callable[[], Any]) -> None:
        version = self.agg.version
        with pytest.raises(error), acting(ctx):
            command()
        assert self.agg.version == version and not self.agg.pending_events

    @invariant()
    def live_state_matches_the_model(self) -> None:
        actual = {k: getattr(self.agg, k) for k in self.expected}
        assert actual == self.expected
        assert self.agg.version == len(self.events)

    @invariant()
    def loading_from_the_store_gives_the_same_state(self) -> None:
        stored = self.app.repository.get(self.agg.id)
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


class DeviceMachine(Machine):
    @initialize(ctx=contexts, hardware_id=st.text(min_size=1, max_size=12).filter(str.strip),
                name=st.text(min_size=1, max_size=12).filter(str.strip),
                zone=st.sampled_from(ZONES))
    def register(self, ctx: CommandContext, hardware_id: str, name: str, zone: UUID) -> None:
        with acting(ctx):
            self.agg = Device.register(client_id=CLIENT, zone_id=zone, hardware_id=hardware_id,
                                       name=name, device_type="speaker")
        self.events, self.stamps = list(self.agg.pending_events), [stamp(ctx)]
        self.app.save(self.agg)
        self.expected = {
            "client_id": CLIENT, "zone_id": zone, "device_id": hardware_id.strip(),
            "name": name.strip(), "device_type": "speaker", "model": "",
            "firmware_version": "", "volume": 70, "ip_address": None, "is_online": False,
            "last_seen": None, "token_id": None, "is_deleted": False,
        }

    def _alive_or_refused(self, ctx: CommandContext, command: Callable[[], Any]) -> bool:
        if self.expected["is_deleted"]:
            self.refused(DeviceDeleted, ctx, command)
            return False
        return True

    @rule(ctx=contexts, changes=device_changes)
    def update(self, ctx: CommandContext, changes: dict[str, Any]) -> None:
        command = lambda: self.agg.update(**changes)  # noqa: E731
        if not self._alive_or_refused(ctx, command):
            return
        stripped = {k: v.strip() for k, v in changes.items()}
        invalid = ("colour" in changes
                   or any(not stripped.get(k, "x") for k in ("name", "device_type"))
                   or any(len(v) > LIMITS.get(k, 0) for k, v in stripped.items()))
        if invalid:
            return self.refused(InvalidDevice, ctx, command)
        changed = {k: v for k, v in stripped.items() if self.expected[k] != v}
        assert self.run(ctx, command) == bool(changed)
        self.expected.update(changed)

    @rule(ctx=contexts, zone=st.sampled_from(ZONES))
    def move(self, ctx: CommandContext, zone: UUID) -> None:
        if self._alive_or_refused(ctx, lambda: self.agg.move_to(zone)):
            assert self.run(ctx, lambda: self.agg.move_to(zone)) == (
                zone != self.expected["zone_id"])
            self.expected["zone_id"] = zone

    @rule(ctx=contexts, volume=st.integers(min_value=-3, max_value=103) | st.booleans())
    def set_volume(self, ctx: CommandContext, volume: int) -> None:
        command = lambda: self.agg.set_volume(volume)  # noqa: E731
        if not self._alive_or_refused(ctx, command):
            return
        if isinstance(volume, bool) or not 0 <= volume <= 100:
            return self.refused(InvalidVolume, ctx, command)
        assert self.run(ctx, command) == (volume != self.expected["volume"])
        self.expected["volume"] = volume

    @rule(ctx=contexts, ip=ips, now=moments)
    def go_online(self, ctx: CommandContext, ip: str | None, now: datetime) -> None:
        command = lambda: self.agg.go_online(ip, now)  # noqa: E731
        if not self._alive_or_refused(ctx, command):
            return
        was_online = self.expected["is_online"]
        assert self.run(ctx, command) == (not was_online)
        if not was_online:
            self.expected.update(is_online=True, last_seen=now,
                                 ip_address=ip or self.expected["ip_address"])

    @rule(ctx=contexts, last_seen=st.none() | moments)
    def go_offline(self, ctx: CommandContext, last_seen: datetime | None) -> None:
        command = lambda: self.agg.go_offline(last_seen)  # noqa: E731
        if not self._alive_or_refused(ctx, command):
            return
        was_online = self.expected["is_online"]
        assert self.run(ctx, command) == was_online
        if was_online:
            self.expected.update(is_online=False,
                                 last_seen=last_seen or self.expected["last_seen"])

    @rule(ctx=contexts, token=tokens)
    def issue_token(self, ctx: CommandContext, token: str) -> None:
        command = lambda: self.agg.issue_token(token)  # noqa: E731
        if not self._alive_or_refused(ctx, command):
            return
        if token == self.expected["token_id"]:
            return self.refused(InvalidDevice, ctx, command)
        self.run(ctx, command)
        self.expected["token_id"] = token

    @rule(ctx=contexts)
    def revoke_token(self, ctx: CommandContext) -> None:
        if self._alive_or_refused(ctx, self.agg.revoke_token):
            assert self.run(ctx, self.agg.revoke_token) == (self.expected["token_id"] is not None)
            self.expected["token_id"] = None

    @rule(ctx=contexts)
    def delete(self, ctx: CommandContext) -> None:
        if self._alive_or_refused(ctx, self.agg.delete):
            self.run(ctx, self.agg.delete)
            self.expected.update(is_deleted=True, is_online=False, token_id=None)

    @invariant()
    def online_changes_only_by_alternating_transitions(self) -> None:
        kinds = [type(e) for e in self.events
                 if isinstance(e, Device.WentOnline | Device.WentOffline)]
        assert all(a is not b for a, b in zip(kinds, kinds[1:], strict=False))
        assert not kinds or kinds[0] is Device.WentOnline


DEVICE_POOL = [uuid.uuid4() for _ in range(8)]


class RosterMachine(Machine):
    @initialize(ctx=contexts, limit=st.integers(min_value=0, max_value=6))
    def open(self, ctx: CommandContext, limit: int) -> None:
        with acting(ctx):
            self.agg = DeviceRoster(client_id=CLIENT)
        self.events, self.stamps = list(self.agg.pending_events), [stamp(ctx)]
        self.app.save(self.agg)
        self.limit = limit
        self.expected = {"client_id": CLIENT, "device_ids": set()}

    @rule(ctx=contexts, device=st.sampled_from(DEVICE_POOL),
          lowered=st.integers(min_value=0, max_value=2))
    def add(self, ctx: CommandContext, device: UUID, lowered: int) -> None:
        """Usually at the client's limit; sometimes at a lower one (a downgraded plan)."""
        limit = self.limit - lowered
        ids = self.expected["device_ids"]
        command = lambda: self.agg.add(device, limit)  # noqa: E731
        if device not in ids and len(ids) >= limit:
            return self.refused(TooManyDevices, ctx, command)
        assert self.run(ctx, command) == (device not in ids)
        self.expected["device_ids"] = ids | {device}

    @rule(ctx=contexts, device=st.sampled_from(DEVICE_POOL))
    def remove(self, ctx: CommandContext, device: UUID) -> None:
        ids = self.expected["device_ids"]
        assert self.run(ctx, lambda: self.agg.remove(device)) == (device in ids)
        self.expected["device_ids"] = ids - {device}

    @invariant()
    def never_more_devices_than_the_limit(self) -> None:
        assert len(self.agg.device_ids) <= self.limit


MACHINE_SETTINGS = settings(max_examples=100, stateful_step_count=30, deadline=None)

TestDeviceCommandsReplayFaithfully = DeviceMachine.TestCase
TestRosterCommandsReplayFaithfully = RosterMachine.TestCase
TestDeviceCommandsReplayFaithfully.settings = MACHINE_SETTINGS
TestRosterCommandsReplayFaithfully.settings = MACHINE_SETTINGS
