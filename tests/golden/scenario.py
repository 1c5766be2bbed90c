"""What a golden store holds, made the way people make it: through the HTTP API.

A client (business) with its owner, a second user and a sync2gear admin; sessions
open, rotated and logged out; folders of real tracks and announcements; a zone in
London driven past its snapshot interval by playback commands, device reports and
the clock, with announcements; schedules the scheduler fires; a paired device.
The clock is still until a step moves it, so the zone's last state is known
exactly. Each step leaves what a later test must know in `facts`.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

from fastapi.testclient import TestClient

from application.authz import Operator
from application.commands.admin import CreateUser
from application.commands.playback import TickZone
from domain.accounts import Role
from infra.bootstrap import Container
from tests.clock import Clock
from tests.golden.api import Api
from tests.golden.library import make_library

LONDON = ZoneInfo("Europe/London")
PASSWORDS = {"admin": "golden admin password", "owner": "golden owner password",
             "member": "golden member password"}
EMAILS = {"admin": "admin@golden.example.com", "owner": "owner@golden.example.com",
          "member": "member@golden.example.com"}
ZONE_EVENTS = 110  # at least, before schedules: Zone snapshots every 100 events
OPERATOR = Operator("golden-store")


@dataclass
class Golden:
    container: Container
    http: TestClient
    clock: Clock
    tmp: Path
    facts: dict[str, Any] = field(default_factory=dict)

    def settle(self, timeout: float = 60.0) -> None:
        """Every read model has caught up with every event."""
        deadline = time.monotonic() + timeout
        while any(self.container.projection_lag().values()):
            assert time.monotonic() < deadline, self.container.projection_lag()
            time.sleep(0.05)

    def tick(self, zone_id: str) -> None:
        """The playback clock's command, as the ticker sends it."""
        self.container.dispatcher.dispatch(OPERATOR, TickZone(UUID(zone_id)),
                                           f"tick-{uuid.uuid4().hex}")

    def state(self, api: Api, zone_id: str) -> dict[str, Any]:
        """The zone's state, once the read models have caught up."""
        self.settle()
        state: dict[str, Any] = api.get(f"/api/playback/state/?zone_id={zone_id}")
        return state

    def to_end(self, api: Api, zone_id: str) -> None:
        """Move the clock just past the end of what plays, and let the ticker see it."""
        ends_at = self.state(api, zone_id)["ends_at"]
        assert ends_at is not None
        self.clock.now = datetime.fromisoformat(ends_at) + timedelta(milliseconds=250)
        self.tick(zone_id)


def make_people(g: Golden) -> tuple[Api, Api, Api]:
    """An admin, a client's owner and a second user, with sessions in every state."""
    g.container.dispatcher.dispatch(OPERATOR, CreateUser(
        email=EMAILS["admin"], password=PASSWORDS["admin"], name="Ada Admin",
        role=Role.ADMIN), "golden-admin")
    anonymous = Api(g.http)
    owner_tokens = anonymous.post("/api/auth/signup/", 201, json={
        "email": EMAILS["owner"], "password": PASSWORDS["owner"], "name": "Olive Owner",
        "client_name": "Golden Cafe", "phone": "+441234567890", "timezone": "Europe/London"})
    rotated = anonymous.post("/api/auth/refresh/", json={"refresh": owner_tokens["refresh"]})
    owner = Api(g.http, rotated["access"])
    ended = _login(anonymous, "owner")
    anonymous.post("/api/auth/logout/", json={"refresh": ended["refresh"]})
    owner.patch("/api/auth/me/", json={"name": "Olive Owner-Smith"})
    admin_tokens = _login(anonymous, "admin")
    admin = Api(g.http, admin_tokens["access"])
    client_id = owner_tokens["user"]["client_id"]
    member = admin.post("/api/admin/users/", 201, json={
        "email": EMAILS["member"], "password": PASSWORDS["member"], "name": "Max Member",
        "role": "client", "client_id": client_id})
    admin.patch(f"/api/admin/clients/{client_id}/", json={"max_devices": 8})
    member_tokens = _login(anonymous, "member")
    g.facts["people"] = {
        "client_id": client_id,
        "admin": {"email": EMAILS["admin"], "password": PASSWORDS["admin"],
                  "id": admin_tokens["user"]["id"], "open_refresh": admin_tokens["refresh"]},
        "owner": {"email": EMAILS["owner"], "password": PASSWORDS["owner"],
                  "id": owner_tokens["user"]["id"], "name": "Olive Owner-Smith",
                  "open_refresh": rotated["refresh"],
                  "rotated_away_refresh": owner_tokens["refresh"],
                  "logged_out_refresh": ended["refresh"]},
        "member": {"email": EMAILS["member"], "password": PASSWORDS["member"],
                   "id": member["id"], "open_refresh": member_tokens["refresh"]},
    }
    return admin, owner, Api(g.http, member_tokens["access"])


def _login(api: Api, who: str) -> dict[str, Any]:
    tokens: dict[str, Any] = api.post("/api/auth/login/", json={
        "email": EMAILS[who], "password": PASSWORDS[who]})
    return tokens


def make_zone_and_device(g: Golden, owner: Api, fallback: str) -> tuple[str, str]:
    zone = owner.post("/api/zones/", 201, json={
        "name": "Floor", "description": "the shop floor", "default_volume": 60,
        "timezone": "Europe/London"})
    owner.patch(f"/api/zones/{zone['id']}/", json={"fallback_folder_ids": [fallback]})
    code = owner.post(f"/api/zones/{zone['id']}/pairing-code/", 201)["code"]
    paired = Api(g.http).post("/api/devices/pair/", 201, json={
        "code": code, "device_id": "golden-hw-0001", "name": "Counter speaker",
        "device_type": "speaker", "model": "S2G-1", "firmware_version": "1.0.3"})
    device = Api(g.http, paired["token"])
    device_id = paired["device"]["id"]
    for _ in range(2):
        device.post(f"/api/devices/{device_id}/heartbeat/")
    owner.post(f"/api/devices/{device_id}/volume/", json={"volume": 80})
    g.facts["zone"] = {"id": zone["id"], "fallback_folder_ids": [fallback]}
    g.facts["device"] = {"id": device_id, "hardware_id": "golden-hw-0001",
                         "name": "Counter speaker", "token": paired["token"], "volume": 80}
    return zone["id"], paired["token"]


def drive_zone(g: Golden, owner: Api, zone_id: str, folders: list[str],
               announcements: dict[str, str], device_token: str) -> None:
    """Commands, clock ticks, device reports and announcements until the zone is
    well past its snapshot interval."""
    play = {"zone_id": zone_id}
    state = owner.post("/api/playback/play/", json={**play, "folder_ids": folders})
    rounds = 0
    while state["version"] < ZONE_EVENTS:
        owner.post("/api/playback/next/", json=play)
        owner.post("/api/playback/volume/", json={**play, "volume": 20 + rounds})
        owner.post("/api/playback/seek/", json={**play, "position_ms": 1000})
        owner.post("/api/playback/previous/", json=play)
        owner.post("/api/playback/pause/", json=play)
        g.clock.now += timedelta(seconds=1)
        state = owner.post("/api/playback/resume/", json=play)
        if rounds % 4 == 1:
            _announce(g, owner, zone_id, announcements["Closing soon"])
        elif rounds % 4 == 3:
            _device_reports_ended(g, zone_id, device_token)
        g.to_end(owner, zone_id)
        state = g.state(owner, zone_id)
        rounds += 1


def _announce(g: Golden, owner: Api, zone_id: str, announcement_id: str) -> None:
    """Two announcements at once (the second queues); the first is skipped, the
    second plays to its end by the clock."""
    for _ in range(2):
        owner.post(f"/api/announcements/{announcement_id}/play-instant/",
                   json={"zone_ids": [zone_id]})
    owner.post("/api/playback/next/", json={"zone_id": zone_id})
    g.to_end(owner, zone_id)


def _device_reports_ended(g: Golden, zone_id: str, token: str) -> None:
    """The device follows the zone on its socket and reports its track's end."""
    g.settle()  # the socket's first frame is the live state: up to date
    with g.http.websocket_connect(f"/ws/playback/{zone_id}/?token={token}") as ws:
        frame = ws.receive_json()
        assert frame["type"] == "zone.state", frame
        state = frame["state"]
        ws.send_json({"type": "ended", "play_seq": state["play_seq"],
                      "queue_position": state["queue_position"]})
        reply = ws.receive_json()
        while reply["type"] == "zone.state":
            reply = ws.receive_json()
        assert reply == {"type": "ack", "of": "ended"}, reply


def run_schedules(g: Golden, owner: Api, zone_id: str, folder_id: str,
                  announcement_id: str, other_announcement: str) -> None:
    """A music window and a one-off announcement the scheduler fires on the clock,
    and an interval schedule switched off."""
    start = (g.clock.now.astimezone(LONDON) + timedelta(minutes=2)).replace(
        second=0, microsecond=0)
    end, once = start + timedelta(minutes=30), start + timedelta(minutes=1)
    days = {"date_from": start.date().isoformat(), "date_to": end.date().isoformat(),
            "zone_ids": [zone_id]}
    music = owner.post("/api/schedules/", 201, json={
        "name": "Evening music", "type": "music", "mode": "timeline",
        "folder_ids": [folder_id], "start_time": start.strftime("%H:%M"),
        "end_time": end.strftime("%H:%M"), "priority": 2, **days})
    welcome = owner.post("/api/schedules/", 201, json={
        "name": "Welcome once", "type": "announcement", "mode": "timeline",
        "announcement_id": announcement_id, "start_time": once.strftime("%H:%M"), **days})
    every = owner.post("/api/schedules/", 201, json={
        "name": "Closing every 10 min", "type": "announcement", "mode": "interval",
        "interval_type": "time", "interval_minutes": 10, "days_of_week": [0, 1, 2, 3, 4],
        "announcement_id": other_announcement, **days})
    owner.post(f"/api/schedules/{every['id']}/toggle/", json={"is_active": False})
    for slot in (start, once):
        g.settle()
        g.clock.now = slot.astimezone(UTC) + timedelta(seconds=2)
        assert g.container.scheduler.tick() == 1
    g.to_end(owner, zone_id)
    g.facts["schedules"] = {"music": music["id"], "welcome": welcome["id"],
                            "every": every["id"]}


def build(g: Golden) -> tuple[Api, Api]:
    """The whole store; the admin's and the owner's callers, to read it back."""
    admin, owner, member = make_people(g)
    folders, announcements = make_library(g, owner, member)
    zone_id, device_token = make_zone_and_device(g, owner, folders["Evening"])
    drive_zone(g, owner, zone_id, [folders["Morning"], folders["Evening"]], announcements,
               device_token)
    run_schedules(g, owner, zone_id, folders["Evening"], announcements["Welcome"],
                  announcements["Closing soon"])
    g.clock.now += timedelta(seconds=1)
    owner.post("/api/playback/next/", json={"zone_id": zone_id})
    g.clock.now += timedelta(milliseconds=1500)
    owner.post("/api/playback/pause/", json={"zone_id": zone_id})
    g.settle()
    return admin, owner
