"""Devices through HTTP, with the real event store, read model (projected) and Redis presence.

This module builds a small app of its own around the session's servers: the
session `container` supplies settings, tokens, accounts (users sign up through
the full app), the session cache and Redis; zones are plain ids mapped to
their client here, and the app's own dispatcher and session guard carry the
devices commands exactly as the composition root wires them.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import httpx
import pytest
import redis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from redis.backoff import NoBackoff
from redis.retry import Retry

from application.commands import devices as device_commands
from application.common import owner_lookup
from application.devices import DevicesApplication
from application.dispatch import Dispatcher
from application.presence import PresenceSweeper, record_heartbeat
from application.queries import ReadModel
from application.services import (
    DEVICES,
    DISPATCHER,
    PRESENCE,
    RATE_LIMITS,
    SESSIONS,
    TOKENS,
    Port,
)
from application.sessions import SessionGuard
from domain.accounts import InvalidToken
from domain.base import Actor, CommandContext
from domain.device import (
    Device,
    DeviceDeleted,
    HardwareIdTaken,
    InvalidDevice,
    InvalidVolume,
    PairingCodeInvalid,
    TooManyDevices,
)
from infra.bootstrap import Container
from infra.postgres import construct_view, schema_lock
from infra.postgres.devices_view import PostgresDevicesView
from infra.presence import Presence
from infra.projection_runner import ProjectionSpec, SupervisedProjection
from infra.ratelimit import RateLimiter
from infra.security import TokenService
from infra.settings import Settings
from interfaces.http import devices as devices_routes
from interfaces.http import errors
from interfaces.http.errors import install_error_handlers
from interfaces.http.middleware import RequestEnvelope
from projections.devices import DevicesProjection
from tests.integration.accounts_helpers import (
    Account,
    assert_problem,
    assert_unauthorized,
    signup,
)

# The entries interfaces/http/errors.py gets when the devices context is wired in.
DEVICE_STATUS: list[tuple[type[Exception], int]] = [
    (TooManyDevices, 409),
    (HardwareIdTaken, 409),
    (InvalidVolume, 422),
    (InvalidDevice, 422),
    (PairingCodeInvalid, 400),
    (DeviceDeleted, 404),
]


@dataclass
class DevicesContainer:
    """The parts of the container the devices routes use."""

    settings: Settings
    tokens: TokenService
    accounts: Any
    devices: DevicesApplication
    devices_view: PostgresDevicesView
    presence: Presence
    guard: SessionGuard
    dispatcher: Dispatcher
    rate_limiter: RateLimiter
    zones: dict[UUID, UUID] = field(default_factory=dict)

    def rewire(self, monkeypatch: pytest.MonkeyPatch, **parts: Any) -> None:
        """Swap some parts (a devices app on another clock, another presence) and
        build the dispatcher anew around them, as the composition root would."""
        for name, value in parts.items():
            monkeypatch.setattr(self, name, value)
        monkeypatch.setattr(self, "dispatcher", wire(self.devices, self.presence, self.zones,
                                                     self.accounts))

    def __getitem__(self, port: Port[Any]) -> Any:
        """The ports the devices routes ask for (as the composition root provides them)."""
        return {
            DISPATCHER: self.dispatcher, SESSIONS: self.guard, TOKENS: self.tokens,
            RATE_LIMITS: self.rate_limiter, PRESENCE: self.presence,
            DEVICES: ReadModel(self.devices_view, self.wait_for_devices,
                               self.devices.recorder.max_notification_id),
        }[port]

    def wait_for_devices(self, position: int | None, timeout: float = 5.0) -> None:
        deadline = time.monotonic() + timeout
        while position is not None and not self.devices_view.has_tracking_id(
                self.devices.name, position):
            assert time.monotonic() < deadline, f"devices view did not reach {position}"
            time.sleep(0.01)


@dataclass
class Harness:
    http: TestClient
    parts: DevicesContainer
    session_client: TestClient

    def account(self) -> Account:
        return signup(self.session_client)

    def zone(self, account: Account) -> UUID:
        zone_id = uuid.uuid4()
        self.parts.zones[zone_id] = UUID(account.client_id)
        return zone_id

    def register(self, account: Account, zone: UUID, hardware_id: str | None = None,
                 **extra: Any) -> httpx.Response:
        body = {"device_id": hardware_id or f"hw-{uuid.uuid4().hex[:10]}", "name": "Till",
                "device_type": "speaker", "zone": str(zone), **extra}
        return self.http.post("/api/devices/register/", json=body, headers=account.auth)

    def device(self, account: Account, zone: UUID | None = None) -> dict[str, Any]:
        response = self.register(account, zone or self.zone(account))
        assert response.status_code == 201, response.text
        body: dict[str, Any] = response.json()
        return body

    def get(self, account: Account, device_id: str, position: str | None = None) -> httpx.Response:
        headers = {**account.auth, "X-Wait-For-Position": position} if position else account.auth
        return self.http.get(f"/api/devices/{device_id}/", headers=headers)


def wire(devices: DevicesApplication, presence: Presence, zones: dict[UUID, UUID],
         accounts: Any) -> Dispatcher:
    """The devices commands on a dispatcher, as infra/commands.py wires them."""
    dispatcher = Dispatcher({"zone": zones.get, "device": owner_lookup(devices.get_device)})
    dispatcher.register_all(device_commands.handlers(
        devices, lambda client_id: accounts.get_client(client_id).limit("max_devices"),
        lambda device, ip, ctx: record_heartbeat(devices, presence, device, ctx, ip)))
    return dispatcher


def build_app(parts: DevicesContainer) -> FastAPI:
    app = FastAPI()
    app.state.ports = parts
    install_error_handlers(app)
    app.add_middleware(RequestEnvelope)
    app.include_router(devices_routes.router)
    app.include_router(devices_routes.zones_pairing_router)
    return app


@pytest.fixture(scope="module")
def harness(container: Container, client: TestClient) -> Iterator[Harness]:
    zones: dict[UUID, UUID] = {}
    with schema_lock(container.database_url):  # runners may be creating tables too
        devices = DevicesApplication(container.es_env, zone_owner=zones.get)
        view = construct_view(DevicesProjection.name, PostgresDevicesView, container.es_env)
    projection = SupervisedProjection(
        ProjectionSpec(DevicesApplication, DevicesProjection, PostgresDevicesView),
        container.es_env, container.database_url)
    projection.start()
    statuses = pytest.MonkeyPatch()
    statuses.setattr(errors, "STATUS", [*DEVICE_STATUS, *errors.STATUS])
    presence = Presence(container.redis, container.settings.redis_prefix)
    guard = SessionGuard(container.tokens, container.auth_cache, container.accounts, devices)
    devices.observe_saves(guard.saved)
    dispatcher = wire(devices, presence, zones, container.accounts)
    parts = DevicesContainer(
        settings=container.settings, tokens=container.tokens, accounts=container.accounts,
        devices=devices, devices_view=view, presence=presence, guard=guard,
        dispatcher=dispatcher, rate_limiter=container.rate_limiter, zones=zones)
    with TestClient(build_app(parts)) as http:
        yield Harness(http, parts, client)
    statuses.undo()
    projection.stop()
    devices.close()
    view.datastore.close()


def sweeper_ctx() -> CommandContext:
    return CommandContext(Actor.system("presence-sweeper"), uuid.uuid4().hex)


def events_of(parts: DevicesContainer, device_id: str) -> list[Any]:
    return list(parts.devices.events.get(UUID(device_id)))


# -- registering -------------------------------------------------------------------------


def test_a_registered_device_is_answered_and_listed(harness: Harness) -> None:
    ann = harness.account()
    bar, lobby = harness.zone(ann), harness.zone(ann)
    response = harness.register(ann, bar, "aa:bb:cc:01", name=" Bar ", model="S1",
                                firmware_version="1.2.3")
    harness.register(ann, lobby)

    assert response.status_code == 201, response.text
    device = response.json()
    assert (device["name"], device["device_id"], device["model"], device["zone"]) == (
        "Bar", "aa:bb:cc:01", "S1", str(bar))
    assert (device["volume"], device["is_online"], device["last_seen"]) == (70, False, None)
    assert device["client"] == ann.client_id and device["has_token"] is False
    position = response.headers["X-Event-Position"]
    listed = harness.http.get(f"/api/devices/?zone={bar}", headers={
        **ann.auth, "X-Wait-For-Position": position}).json()
    assert listed["count"] == 1 and listed["results"][0]["id"] == device["id"]
    everything = harness.http.get("/api/devices/", headers=ann.auth).json()
    assert everything["count"] == 2
    assert harness.get(ann, device["id"]).json()["firmware_version"] == "1.2.3"


def test_a_hardware_id_registered_by_one_client_is_refused_to_another(harness: Harness) -> None:
    ann, bob = harness.account(), harness.account()
    assert harness.register(ann, harness.zone(ann), "hw-shared-1").status_code == 201

    response = harness.register(bob, harness.zone(bob), "hw-shared-1")

    assert "hw-shared-1" in assert_problem(response, 409)["detail"]


def test_a_client_registers_at_most_its_max_devices(harness: Harness) -> None:
    ann = harness.account()
    zone = harness.zone(ann)
    for _ in range(5):
        harness.device(ann, zone)

    response = harness.register(ann, zone)

    assert assert_problem(response, 409)["detail"] == "device limit reached: 5 of 5"


def test_concurrent_registrations_stop_exactly_at_the_limit(harness: Harness) -> None:
    ann = harness.account()
    zone = harness.zone(ann)

    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = list(pool.map(lambda _: harness.register(ann, zone).status_code, range(8)))

    assert sorted(statuses) == [201] * 5 + [409] * 3
    assert harness.parts.devices.device_count(UUID(ann.client_id)) == 5


def test_invalid_fields_are_refused(harness: Harness) -> None:
    ann = harness.account()
    zone = harness.zone(ann)
    assert_problem(harness.register(ann, zone, name="  "), 422)
    assert_problem(harness.register(ann, zone, device_type="x" * 51), 422)
    assert_problem(harness.register(ann, uuid.uuid4()), 404)  # no such zone


# -- the tenancy wall ----------------------------------------------------------------------


def test_another_clients_devices_and_zones_look_absent(harness: Harness) -> None:
    ann, bob = harness.account(), harness.account()
    ann_zone = harness.zone(ann)
    device = harness.device(ann, ann_zone)
    url = f"/api/devices/{device['id']}/"

    for response in (
        harness.http.get(url, headers=bob.auth),
        harness.http.patch(url, json={"name": "mine"}, headers=bob.auth),
        harness.http.post(url + "volume/", json={"volume": 5}, headers=bob.auth),
        harness.http.post(url + "token/", headers=bob.auth),
        harness.http.delete(url + "token/", headers=bob.auth),
        harness.http.post(url + "heartbeat/", headers=bob.auth),
        harness.http.delete(url, headers=bob.auth),
        harness.register(bob, ann_zone),
        harness.http.post(f"/api/zones/{ann_zone}/pairing-code/", headers=bob.auth),
        harness.http.patch(url, json={"zone": str(harness.zone(bob))}, headers=ann.auth),
    ):
        assert_problem(response, 404)
    assert harness.http.get("/api/devices/", headers=bob.auth).json()["count"] == 0
    assert harness.get(ann, device["id"]).status_code == 200


def test_device_routes_need_a_user(harness: Harness) -> None:
    assert_unauthorized(harness.http.get("/api/devices/"))
    assert_unauthorized(harness.http.post("/api/zones/" + str(uuid.uuid4()) + "/pairing-code/"))


# -- changing ------------------------------------------------------------------------------


def test_volume_is_set_from_0_to_100(harness: Harness) -> None:
    ann = harness.account()
    device = harness.device(ann)
    url = f"/api/devices/{device['id']}/volume/"

    for bad in (101, -1, "loud", None):
        assert_problem(harness.http.post(url, json={"volume": bad}, headers=ann.auth), 422)
    assert harness.http.post(url, json={"volume": 0}, headers=ann.auth).json()["volume"] == 0
    response = harness.http.post(url, json={"volume": 100}, headers=ann.auth)

    assert response.status_code == 200 and response.json()["volume"] == 100
    got = harness.get(ann, device["id"], response.headers["X-Event-Position"])
    assert got.json()["volume"] == 100


def test_patch_renames_and_moves_a_device(harness: Harness) -> None:
    ann = harness.account()
    device = harness.device(ann)
    other_zone = harness.zone(ann)

    response = harness.http.patch(f"/api/devices/{device['id']}/", headers=ann.auth,
                                  json={"name": "Terrace", "zone": str(other_zone),
                                        "firmware_version": "2.0"})

    assert response.status_code == 200, response.text
    got = harness.get(ann, device["id"], response.headers["X-Event-Position"]).json()
    assert (got["name"], got["zone"], got["firmware_version"]) == (
        "Terrace", str(other_zone), "2.0")


def test_deleting_a_device_frees_its_slot_and_its_hardware_id(harness: Harness) -> None:
    ann, bob = harness.account(), harness.account()
    zone = harness.zone(ann)
    devices = [harness.device(ann, zone) for _ in range(5)]

    response = harness.http.delete(f"/api/devices/{devices[0]['id']}/", headers=ann.auth)

    assert response.status_code == 204
    assert_problem(harness.get(ann, devices[0]["id"], response.headers["X-Event-Position"]), 404)
    assert harness.register(ann, zone).status_code == 201  # the slot is free again
    again = harness.register(bob, harness.zone(bob), devices[0]["device_id"])
    assert again.status_code == 201, again.text


# -- pairing and device tokens -----------------------------------------------------------------


def pair(harness: Harness, code: str, hardware_id: str | None = None) -> httpx.Response:
    return harness.http.post("/api/devices/pair/", json={
        "code": code, "device_id": hardware_id or f"hw-{uuid.uuid4().hex[:10]}",
        "name": "Lobby tablet", "device_type": "tablet", "model": "T10"})


def pairing_code(harness: Harness, account: Account, zone: UUID) -> dict[str, Any]:
    response = harness.http.post(f"/api/zones/{zone}/pairing-code/", headers=account.auth)
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def heartbeat(harness: Harness, device_id: str, token: str) -> httpx.Response:
    return harness.http.post(f"/api/devices/{device_id}/heartbeat/",
                             headers={"Authorization": f"Bearer {token}"})


def test_pairing_with_a_code_gives_the_device_a_working_token(harness: Harness) -> None:
    ann = harness.account()
    zone = harness.zone(ann)
    code = pairing_code(harness, ann, zone)
    expires_at = datetime.fromisoformat(code["expires_at"])
    assert len(code["code"]) == 8 and code["zone_id"] == str(zone)
    assert timedelta(minutes=9) < expires_at - datetime.now(UTC) <= timedelta(minutes=10)

    paired = pair(harness, code["code"])

    assert paired.status_code == 201, paired.text
    device, token = paired.json()["device"], paired.json()["token"]
    assert (device["zone"], device["client"], device["has_token"]) == (
        str(zone), ann.client_id, True)
    claims = harness.parts.tokens.device_claims(token)
    assert (str(claims.device_id), str(claims.zone_id)) == (device["id"], str(zone))
    beat = heartbeat(harness, device["id"], token)
    assert beat.status_code == 200, beat.text
    assert beat.json()["is_online"] is True
    assert_problem(pair(harness, code["code"]), 400)  # used once already
    assert_problem(pair(harness, "NOTACODE"), 400)


def test_pairing_beyond_the_limit_leaves_the_code_usable(harness: Harness) -> None:
    ann = harness.account()
    zone = harness.zone(ann)
    devices = [harness.device(ann, zone) for _ in range(5)]
    code = pairing_code(harness, ann, zone)["code"]

    assert assert_problem(pair(harness, code), 409)["detail"] == "device limit reached: 5 of 5"
    harness.http.delete(f"/api/devices/{devices[0]['id']}/", headers=ann.auth)
    assert pair(harness, code).status_code == 201


def test_an_expired_pairing_code_is_refused(harness: Harness,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    ann = harness.account()
    code = pairing_code(harness, ann, harness.zone(ann))["code"]
    later = DevicesApplication(harness.parts.devices.env, zone_owner=harness.parts.zones.get,
                               clock=lambda: datetime.now(UTC) + timedelta(minutes=10, seconds=1))
    harness.parts.rewire(monkeypatch, devices=later)
    try:
        body = assert_problem(pair(harness, code), 400)
    finally:
        later.close()
    assert "expired" in body["detail"]


def test_a_rotated_or_revoked_device_token_stops_working(harness: Harness) -> None:
    ann = harness.account()
    paired = pair(harness, pairing_code(harness, ann, harness.zone(ann))["code"]).json()
    device_id, first = paired["device"]["id"], paired["token"]
    devices = harness.parts.devices

    rotated = harness.http.post(f"/api/devices/{device_id}/token/", headers=ann.auth)

    assert rotated.status_code == 200, rotated.text
    second = rotated.json()["token"]
    with pytest.raises(InvalidToken):
        devices.check_token(UUID(device_id), harness.parts.tokens.device_claims(first).token_id)
    assert_unauthorized(heartbeat(harness, device_id, first))
    assert heartbeat(harness, device_id, second).status_code == 200
    revoked = harness.http.delete(f"/api/devices/{device_id}/token/", headers=ann.auth)
    assert revoked.status_code == 204
    with pytest.raises(InvalidToken):
        devices.check_token(UUID(device_id), harness.parts.tokens.device_claims(second).token_id)
    assert_unauthorized(heartbeat(harness, device_id, second))


def test_a_device_token_is_no_user_and_speaks_only_for_its_device(harness: Harness) -> None:
    ann = harness.account()
    zone = harness.zone(ann)
    paired = pair(harness, pairing_code(harness, ann, zone)["code"]).json()
    other = harness.device(ann, zone)
    device_auth = {"Authorization": f"Bearer {paired['token']}"}

    # A valid token of a caller that may not read the list: 403, not 401.
    assert_problem(harness.http.get("/api/devices/", headers=device_auth), 403)
    assert_problem(heartbeat(harness, other["id"], paired["token"]), 403)
    assert_unauthorized(harness.http.post(f"/api/devices/{other['id']}/heartbeat/"))


# -- presence ------------------------------------------------------------------------------


def test_heartbeats_bring_a_device_online_once_and_the_sweeper_takes_it_offline(
        harness: Harness, monkeypatch: pytest.MonkeyPatch) -> None:
    parts = harness.parts
    presence = Presence(parts.presence.redis, parts.settings.redis_prefix, ttl_seconds=1)
    parts.rewire(monkeypatch, presence=presence)
    ann = harness.account()
    paired = pair(harness, pairing_code(harness, ann, harness.zone(ann))["code"]).json()
    device_id, token = paired["device"]["id"], paired["token"]

    first = heartbeat(harness, device_id, token)
    version = parts.devices.get_device(UUID(device_id)).version
    again = [heartbeat(harness, device_id, token) for _ in range(3)]
    user_beat = harness.http.post(f"/api/devices/{device_id}/heartbeat/", headers=ann.auth)

    assert first.status_code == 200 and "X-Event-Position" in first.headers
    assert all(r.status_code == 200 and "X-Event-Position" not in r.headers
               for r in [*again, user_beat])
    assert parts.devices.get_device(UUID(device_id)).version == version  # no new events
    shown = harness.get(ann, device_id, first.headers["X-Event-Position"]).json()
    assert shown["is_online"] is True
    last_seen = datetime.fromisoformat(shown["last_seen"])
    assert last_seen == datetime.fromisoformat(user_beat.json()["last_seen"])

    time.sleep(1.3)  # the presence key expires
    # Ours or the app's own sweeper (running meanwhile) takes it offline, once;
    # others' devices whose presence lapsed may go offline in the same sweep.
    sweeper = PresenceSweeper(parts.devices, parts.devices_view, presence)
    sweeper.sweep(sweeper_ctx)
    assert UUID(device_id) not in sweeper.sweep(sweeper_ctx)

    offline = [e for e in events_of(parts, device_id) if isinstance(e, Device.WentOffline)]
    assert len(offline) == 1 and offline[0].last_seen == last_seen
    position = str(parts.devices.recorder.max_notification_id())
    shown = harness.get(ann, device_id, position).json()
    assert (shown["is_online"], datetime.fromisoformat(shown["last_seen"])) == (False, last_seen)
    assert UUID(device_id) not in parts.devices_view.online_device_ids()


def test_a_heartbeat_after_going_offline_brings_the_device_back(harness: Harness) -> None:
    parts = harness.parts
    ann = harness.account()
    device = harness.device(ann)
    beat = harness.http.post(f"/api/devices/{device['id']}/heartbeat/", headers=ann.auth)
    parts.presence.forget(UUID(device["id"]))  # as if the key had expired
    parts.wait_for_devices(int(beat.headers["X-Event-Position"]))
    PresenceSweeper(parts.devices, parts.devices_view, parts.presence).sweep(sweeper_ctx)

    back = harness.http.post(f"/api/devices/{device['id']}/heartbeat/", headers=ann.auth)

    assert "X-Event-Position" in back.headers
    kinds = [type(e).__name__ for e in events_of(parts, device["id"])]
    assert kinds[-3:] == ["WentOnline", "WentOffline", "WentOnline"]


def test_the_list_shows_recorded_presence_when_redis_is_unreachable(
        harness: Harness, monkeypatch: pytest.MonkeyPatch) -> None:
    parts = harness.parts
    ann = harness.account()
    online, offline = harness.device(ann), harness.device(ann)
    beat = harness.http.post(f"/api/devices/{online['id']}/heartbeat/", headers=ann.auth)
    unreachable = redis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.2,
                              retry=Retry(NoBackoff(), 0))
    parts.rewire(monkeypatch, presence=Presence(unreachable, "nowhere:"))

    listed = harness.http.get("/api/devices/", headers={
        **ann.auth, "X-Wait-For-Position": beat.headers["X-Event-Position"]})

    assert listed.status_code == 200, listed.text
    by_id = {d["id"]: d for d in listed.json()["results"]}
    assert by_id[online["id"]]["is_online"] is True
    assert by_id[online["id"]]["last_seen"] is not None
    assert by_id[offline["id"]]["is_online"] is False
    assert_problem(harness.http.post(f"/api/devices/{online['id']}/heartbeat/",
                                     headers=ann.auth), 503)
