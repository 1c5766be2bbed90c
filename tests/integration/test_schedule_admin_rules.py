"""Schedule and admin commands go through the one dispatcher (issue 12): every
caller gets what the command's rule says, over HTTP and when a command is handed
to the dispatcher directly, and every route of these routers names its rule."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import pytest
from fastapi.testclient import TestClient

from application.admin import CannotLockOutYourself
from application.authz import PermissionDenied, Principal, Unauthenticated
from application.commands import admin as admin_cmd
from application.commands import schedules as schedule_cmd
from application.rules import RULES
from domain.accounts import Role
from domain.base import NotFound
from infra.bootstrap import Container
from tests.integration.accounts_helpers import Account, login, signup, unique_email
from tests.integration.admin_helpers import sync2gear_user

CALLERS = ("anonymous", "owner", "other client", "staff", "admin", "device", "ended session")


@dataclass
class World:
    owner: Account
    zone_id: str
    folder_id: str
    headers: dict[str, dict[str, str]]  # caller -> headers
    principals: dict[str, Principal]


def _pair(client: TestClient, owner: Account, zone_id: str) -> str:
    code = client.post(f"/api/zones/{zone_id}/pairing-code/", headers=owner.auth).json()["code"]
    paired = client.post("/api/devices/pair/", json={
        "code": code, "device_id": f"hw-{uuid.uuid4().hex[:10]}", "name": "Speaker",
        "device_type": "speaker"})
    assert paired.status_code == 201, paired.text
    return str(paired.json()["token"])


def _ended(client: TestClient, account: Account) -> dict[str, str]:
    """A second session of `account`, logged out: its access token is still unexpired."""
    session = login(client, account.email)
    assert client.post("/api/auth/logout/", headers=session.auth,
                       json={"refresh": session.refresh}).status_code == 200
    return session.auth


@pytest.fixture(scope="module")
def world(client: TestClient, container: Container) -> World:
    owner, other = signup(client), signup(client)
    staff = sync2gear_user(client, container, Role.STAFF)
    admin = sync2gear_user(client, container, Role.ADMIN)
    zone = client.post("/api/zones/", json={"name": "Floor"}, headers=owner.auth)
    folder = client.post("/api/music/folders/", json={"name": "Day"}, headers=owner.auth)
    assert zone.status_code == folder.status_code == 201, (zone.text, folder.text)
    zone_id = zone.json()["id"]
    headers = {"anonymous": {}, "owner": owner.auth, "other client": other.auth,
               "staff": staff.auth, "admin": admin.auth,
               "device": {"Authorization": f"Bearer {_pair(client, owner, zone_id)}"},
               "ended session": _ended(client, owner)}
    principals = {name: container.guard.caller(account.access) for name, account in
                  (("owner", owner), ("other client", other), ("staff", staff),
                   ("admin", admin))}
    return World(owner, zone_id, folder.json()["id"], headers,
                 {k: v for k, v in principals.items() if isinstance(v, Principal)})


def _rule(world: World, name: str = "Day music") -> dict[str, Any]:
    return {"name": name, "type": "music", "folder_ids": [world.folder_id],
            "start_time": "08:00", "end_time": "20:00", "zone_ids": [world.zone_id]}


def _schedule(client: TestClient, world: World) -> str:
    created = client.post("/api/schedules/", json=_rule(world), headers=world.owner.auth)
    assert created.status_code == 201, created.text
    return str(created.json()["id"])


# The rule each command names: CLIENT_MEMBER to create, TENANT_WRITE to change.
CREATE = {"anonymous": 401, "owner": 201, "other client": 404, "staff": 403, "admin": 403,
          "device": 403, "ended session": 401}
CHANGE = {"anonymous": 401, "owner": 200, "other client": 404, "staff": 403, "admin": 200,
          "device": 403, "ended session": 401}


@pytest.mark.parametrize("caller", CALLERS)
def test_creating_a_schedule_is_for_the_clients_own_users(
        client: TestClient, world: World, caller: str) -> None:
    # Another client names zones and folders that are not theirs: absent to them.
    response = client.post("/api/schedules/", json=_rule(world), headers=world.headers[caller])
    assert response.status_code == CREATE[caller], response.text


@pytest.mark.parametrize("caller", CALLERS)
def test_changing_toggling_and_deleting_a_schedule_follow_the_tenant_write_rule(
        client: TestClient, container: Container, world: World, caller: str) -> None:
    schedule_id = _schedule(client, world)
    version = container.scheduling.get_schedule(UUID(schedule_id)).version
    headers, url = world.headers[caller], f"/api/schedules/{schedule_id}/"

    changed = client.patch(url, json={"priority": 3}, headers=headers)
    toggled = client.post(f"{url}toggle/", headers=headers)
    deleted = client.delete(url, headers=headers)

    expected = CHANGE[caller]
    assert (changed.status_code, toggled.status_code) == (expected, expected), changed.text
    assert deleted.status_code == (204 if expected == 200 else expected), deleted.text
    changes = container.scheduling.events.get(UUID(schedule_id), gt=version)
    assert len(list(changes)) == (3 if expected == 200 else 0)


def test_a_device_or_an_ended_session_changes_nothing_in_the_admin_panel(
        client: TestClient, container: Container, world: World) -> None:
    user_id = world.owner.user_id
    before = container.accounts.get_user(UUID(user_id)).version
    for caller, status in (("device", 403), ("ended session", 401)):
        headers = world.headers[caller]
        for method, path, body in (
            ("POST", "/api/admin/clients/", {"name": "Sneaky", "email": unique_email()}),
            ("POST", "/api/admin/users/", {"email": unique_email(), "password": "x" * 12,
                                           "name": "X", "role": "admin"}),
            ("PATCH", f"/api/admin/users/{user_id}/", {"role": "admin"}),
            ("DELETE", f"/api/admin/users/{user_id}/", None),
        ):
            response = client.request(method, path, json=body, headers=headers)
            assert response.status_code == status, (caller, method, path, response.text)
    assert container.accounts.get_user(UUID(user_id)).version == before


def test_the_dispatcher_applies_the_same_rules_to_commands_from_any_transport(
        client: TestClient, container: Container, world: World) -> None:
    dispatch, p = container.dispatcher.dispatch, world.principals
    schedule_id = UUID(_schedule(client, world))
    owner_user = UUID(world.owner.user_id)

    with pytest.raises(PermissionDenied):
        dispatch(p["staff"], schedule_cmd.ToggleSchedule(schedule_id), "test")
    with pytest.raises(NotFound):
        dispatch(p["other client"], schedule_cmd.DeleteSchedule(schedule_id), "test")
    with pytest.raises(Unauthenticated):
        dispatch(None, admin_cmd.DeactivateUser(owner_user), "test")
    for caller in ("staff", "owner"):
        with pytest.raises(PermissionDenied):
            dispatch(p[caller], admin_cmd.ChangeUser(owner_user, {"role": "admin"}), "test")
    admin = p["admin"]
    with pytest.raises(CannotLockOutYourself):  # the admin panel's own rule still holds
        dispatch(admin, admin_cmd.ChangeUser(admin.user_id, {"is_active": False}), "test")

    schedule, _ = dispatch(admin, schedule_cmd.ToggleSchedule(schedule_id, False), "test")
    user, _ = dispatch(admin, admin_cmd.ChangeUser(owner_user, {"name": "Renamed"}), "test")
    assert (schedule.is_active, user.name) == (False, "Renamed")
    assert container.accounts.get_user(owner_user).role is Role.CLIENT


ADMIN_READS = {f"/api/admin/{p}" for p in (
    "clients/", "clients/{client_id}/", "users/", "users/{user_id}/", "stats/", "storage/",
    "devices/")}
EXPECTED_RULES: dict[tuple[str, str], str] = {
    ("/api/schedules/", "get"): "tenant-read",
    ("/api/schedules/", "post"): "client-member",
    ("/api/schedules/{schedule_id}/", "get"): "tenant-read",
    ("/api/schedules/{schedule_id}/decisions/", "get"): "tenant-read",
    ("/api/reports/summary/", "get"): "tenant-read",
    ("/api/schedules/{schedule_id}/", "patch"): "tenant-write",
    ("/api/schedules/{schedule_id}/", "delete"): "tenant-write",
    ("/api/schedules/{schedule_id}/toggle/", "post"): "tenant-write",
    **{(path, "get"): "staff-read" for path in ADMIN_READS},
    ("/api/admin/clients/", "post"): "admin",
    ("/api/admin/clients/{client_id}/", "patch"): "admin",
    ("/api/admin/clients/{client_id}/", "delete"): "admin",
    ("/api/admin/users/", "post"): "admin",
    ("/api/admin/users/{user_id}/", "patch"): "admin",
    ("/api/admin/users/{user_id}/", "delete"): "admin",
    ("/api/users/", "get"): "tenant-read",
    ("/api/users/{user_id}/", "get"): "tenant-read",
    ("/api/clients/{client_id}/", "get"): "tenant-read",
    ("/api/zones/{zone_id}/history/", "get"): "tenant-read",
    ("/api/zones/{zone_id}/state/", "get"): "tenant-read",
    ("/api/reports/plays/", "get"): "tenant-read",
    ("/api/health/", "get"): "public",
    ("/api/ready/", "get"): "public",
    ("/api/media/{key}", "get"): "public",
}
PREFIXES = ("/api/schedules/", "/api/admin/", "/api/users/", "/api/clients/",
            "/api/reports/", "/api/health/", "/api/ready/", "/api/media/")


def test_every_schedule_admin_account_audit_health_and_media_route_names_its_rule(
        client: TestClient) -> None:
    paths = client.get("/api/openapi.json").json()["paths"]
    documented = {(path, method): op.get("x-authorization")
                  for path, item in paths.items() for method, op in item.items()
                  if path.startswith(PREFIXES) or (path, method) in EXPECTED_RULES}

    assert documented == EXPECTED_RULES
    assert set(documented.values()) <= set(RULES)


def test_every_schedule_and_admin_command_has_a_handler_in_the_dispatcher(
        container: Container) -> None:
    commands = {admin_cmd.CreateClient, admin_cmd.ChangeClient, admin_cmd.CancelClient,
                admin_cmd.CreateUser, admin_cmd.ChangeUser, admin_cmd.DeactivateUser,
                schedule_cmd.CreateSchedule, schedule_cmd.ChangeSchedule,
                schedule_cmd.ToggleSchedule, schedule_cmd.DeleteSchedule}
    assert commands <= set(container.dispatcher.command_classes)
