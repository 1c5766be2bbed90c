"""Sessions that end, and one authorization path for HTTP and WebSocket (issue 12,
findings 1, 2 and 7): a revoked token is refused on the next request, and open
sockets are closed with a code the client can read."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from domain.accounts import Role
from infra.bootstrap import Container
from tests.integration.accounts_helpers import PASSWORD, Account, login, signup
from tests.integration.admin_helpers import sync2gear_user


def _zone(client: TestClient, owner: Account) -> str:
    response = client.post("/api/zones/", json={"name": "Floor"}, headers=owner.auth)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def _device(client: TestClient, owner: Account, zone_id: str) -> tuple[str, str]:
    code = client.post(f"/api/zones/{zone_id}/pairing-code/", headers=owner.auth).json()["code"]
    paired = client.post("/api/devices/pair/", json={
        "code": code, "device_id": f"hw-{uuid.uuid4().hex[:10]}", "name": "Speaker",
        "device_type": "speaker"})
    assert paired.status_code == 201, paired.text
    return str(paired.json()["device"]["id"]), str(paired.json()["token"])


def _volume(client: TestClient, owner: Account, zone_id: str) -> int:
    state = client.get(f"/api/playback/state/?zone_id={zone_id}", headers=owner.waiting(
        _head(client, owner, zone_id)))
    return int(state.json()["volume"])


def _head(client: TestClient, owner: Account, zone_id: str) -> int:
    """The position of the zone's last event, through a harmless read-your-writes."""
    return int(client.post("/api/playback/volume/", headers=owner.auth, json={
        "zone_id": zone_id, "volume": 50}).headers["X-Event-Position"])


def _reply(ws: Any) -> dict[str, Any]:
    while True:
        message: dict[str, Any] = ws.receive_json()
        if message["type"] != "zone.state":
            return message


def _closed_with(ws: Any) -> int:
    with pytest.raises(WebSocketDisconnect) as closed:
        while True:
            ws.receive_json()
    return int(closed.value.code)


def test_staff_cannot_command_a_zone_over_the_socket(client: TestClient,
                                                     container: Container) -> None:
    owner = signup(client)
    zone_id = _zone(client, owner)
    staff = sync2gear_user(client, container, Role.STAFF)
    with client.websocket_connect(f"/ws/playback/{zone_id}/?token={staff.access}") as ws:
        assert ws.receive_json()["type"] == "zone.state"  # staff may watch
        ws.send_json({"type": "volume", "volume": 13})
        assert _reply(ws) == {"type": "error", "of": "volume", "status": 403,
                              "detail": "staff have read-only access"}
        ws.send_json({"type": "pause"})
        assert _reply(ws)["status"] == 403
    assert _volume(client, owner, zone_id) == 50


def test_a_device_of_another_zone_cannot_follow_or_command_this_one(client: TestClient) -> None:
    owner = signup(client)
    zone_a, zone_b = _zone(client, owner), _zone(client, owner)
    _, token_b = _device(client, owner, zone_b)
    with client.websocket_connect(f"/ws/playback/{zone_a}/?token={token_b}") as ws:
        assert _closed_with(ws) == 4403


@pytest.mark.parametrize("how", ["logout", "refresh reuse", "password change"])
def test_a_session_that_ended_refuses_its_access_token_at_once(client: TestClient,
                                                                how: str) -> None:
    account = signup(client)
    assert client.get("/api/zones/", headers=account.auth).status_code == 200
    if how == "logout":
        assert client.post("/api/auth/logout/", headers=account.auth,
                           json={"refresh": account.refresh}).status_code == 200
    elif how == "refresh reuse":
        assert client.post("/api/auth/refresh/", json={"refresh": account.refresh}
                           ).status_code == 200
        assert client.post("/api/auth/refresh/", json={"refresh": account.refresh}
                           ).status_code == 401  # replayed: the family is revoked
    else:
        assert client.post("/api/auth/change-password/", headers=account.auth, json={
            "old_password": PASSWORD, "new_password": "another long password"}
        ).status_code == 200
    refused = client.get("/api/zones/", headers=account.auth)
    assert refused.status_code == 401, refused.text
    assert refused.headers["content-type"] == "application/problem+json"
    assert "log in again" in refused.json()["detail"]


def test_a_deactivated_user_is_refused_everywhere(client: TestClient,
                                                  container: Container) -> None:
    admin = sync2gear_user(client, container, Role.ADMIN)
    staff = sync2gear_user(client, container, Role.STAFF)
    assert client.get("/api/admin/stats/", headers=staff.auth).status_code == 200
    assert client.delete(f"/api/admin/users/{staff.user_id}/",
                         headers=admin.auth).status_code == 204
    refused = client.get("/api/admin/stats/", headers=staff.auth)
    assert refused.status_code == 401
    assert refused.json()["detail"] == "this account is deactivated"


def test_a_demoted_admin_loses_the_admin_role_on_the_next_request(
        client: TestClient, container: Container) -> None:
    boss = sync2gear_user(client, container, Role.ADMIN)
    demoted = sync2gear_user(client, container, Role.ADMIN)
    assert client.patch(f"/api/admin/users/{demoted.user_id}/", headers=boss.auth,
                        json={"role": "staff"}).status_code == 200
    created = client.post("/api/admin/clients/", headers=demoted.auth, json={
        "name": "Sneaky Ltd", "email": f"sneaky-{uuid.uuid4().hex[:6]}@example.com"})
    assert created.status_code == 403, created.text
    assert client.get("/api/admin/stats/", headers=demoted.auth).status_code == 200  # staff


def test_revoking_a_device_token_closes_its_socket_and_refuses_its_commands(
        client: TestClient) -> None:
    owner = signup(client)
    zone_id = _zone(client, owner)
    device_id, token = _device(client, owner, zone_id)
    with client.websocket_connect(f"/ws/playback/{zone_id}/?token={token}") as ws:
        ws.receive_json()
        ws.send_json({"type": "volume", "volume": 21})
        assert _reply(ws) == {"type": "ack", "of": "volume"}
        assert client.delete(f"/api/devices/{device_id}/token/",
                             headers=owner.auth).status_code == 204
        ws.send_json({"type": "volume", "volume": 13})
        assert _closed_with(ws) == 4401
    assert _volume(client, owner, zone_id) == 50
    with client.websocket_connect(f"/ws/playback/{zone_id}/?token={token}") as ws:
        assert _closed_with(ws) == 4401


def test_deleting_a_device_closes_its_socket_without_a_message(client: TestClient) -> None:
    owner = signup(client)
    zone_id = _zone(client, owner)
    device_id, token = _device(client, owner, zone_id)
    with client.websocket_connect(f"/ws/playback/{zone_id}/?token={token}") as ws:
        ws.receive_json()
        assert client.delete(f"/api/devices/{device_id}/",
                             headers=owner.auth).status_code == 204
        assert _closed_with(ws) == 4401  # closed by the announcement, unprompted


def test_logging_out_closes_the_users_sockets_and_refuses_new_ones(client: TestClient) -> None:
    owner = signup(client)
    zone_id = _zone(client, owner)
    session = login(client, owner.email)
    with client.websocket_connect(f"/ws/playback/{zone_id}/?token={session.access}") as ws, \
            client.websocket_connect(f"/ws/playback/{zone_id}/?token={owner.access}") as other:
        ws.receive_json()
        other.receive_json()
        assert client.post("/api/auth/logout/", headers=session.auth,
                           json={"refresh": session.refresh}).status_code == 200
        assert _closed_with(ws) == 4401
        other.send_json({"type": "volume", "volume": 30})  # another session of the same user
        assert _reply(other) == {"type": "ack", "of": "volume"}
    with client.websocket_connect(f"/ws/playback/{zone_id}/?token={session.access}") as ws:
        assert _closed_with(ws) == 4401


def test_deleting_a_zone_closes_its_sockets_with_4404(client: TestClient) -> None:
    owner = signup(client)
    zone_id = _zone(client, owner)
    with client.websocket_connect(f"/ws/playback/{zone_id}/?token={owner.access}") as ws:
        ws.receive_json()
        assert client.delete(f"/api/zones/{zone_id}/", headers=owner.auth).status_code == 204
        assert _closed_with(ws) == 4404


def test_a_new_zone_command_needs_no_websocket_code(container: Container) -> None:
    """Every zone command that names a message type is reachable over the socket,
    with the same rule as over HTTP."""
    messages = container.dispatcher.messages()
    assert {"pause", "resume", "next", "previous", "volume", "seek", "ended",
            "heartbeat"} <= set(messages)
    for command_class in messages.values():
        assert command_class.target_kind == "zone"
