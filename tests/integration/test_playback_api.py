"""Zones and playback over HTTP and WebSocket, against the real services."""

from __future__ import annotations

import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from infra.bootstrap import Container
from tests.audio_factory import make_wav


def _account(client: TestClient) -> dict[str, str]:
    body = client.post("/api/auth/signup/", json={
        "email": f"pb-{uuid.uuid4().hex[:8]}@example.com", "password": "a-long-password",
        "name": "Pat", "client_name": "Pat's Bar"}).json()
    return {"Authorization": f"Bearer {body['access']}", "token": body["access"]}


def _zone_with_music(client: TestClient, auth: dict[str, str], tmp: Path,
                     tracks: int = 3) -> tuple[str, str]:
    headers = {"Authorization": auth["Authorization"]}
    zone = client.post("/api/zones/", json={"name": "Bar"}, headers=headers).json()["id"]
    folder = client.post("/api/music/folders/", json={"name": "Jazz"},
                         headers=headers).json()["id"]
    for i in range(tracks):
        path = tmp / f"{uuid.uuid4().hex}.wav"
        make_wav(path, 20 + i)
        up = client.post("/api/music/upload/", headers=headers, data={"folder_id": folder},
                         files=[("files", (path.name, path.read_bytes(), "audio/wav"))])
        assert up.status_code == 201, up.text
    client.get("/api/music/files/", headers={
        **headers, "X-Wait-For-Position": up.headers["X-Event-Position"]})
    return zone, folder


def test_fifty_concurrent_commands_on_one_zone_lose_nothing(
    client: TestClient, container: Container, tmp_path: Path
) -> None:
    auth = _account(client)
    headers = {"Authorization": auth["Authorization"]}
    zone_id, folder = _zone_with_music(client, auth, tmp_path)
    assert client.post("/api/playback/play/", json={"zone_id": zone_id, "folder_ids": [folder]},
                       headers=headers).status_code == 200
    commands: list[tuple[str, dict[str, Any]]] = [
        ("next", {}), ("pause", {}), ("resume", {}), ("previous", {}),
        ("volume", {"volume": 40}),
    ] * 10

    def send(command: tuple[str, dict[str, Any]]) -> int:
        name, extra = command
        return client.post(f"/api/playback/{name}/", json={"zone_id": zone_id, **extra},
                           headers=headers).status_code

    with ThreadPoolExecutor(max_workers=10) as pool:
        statuses = list(pool.map(send, commands))
    assert statuses == [200] * 50
    live = container.playback.get_zone(uuid.UUID(zone_id))
    events = list(container.playback.events.get(live.id))
    replayed = None
    for e in events:
        replayed = e.mutate(replayed)
    assert replayed == live
    kinds = [type(e).__name__ for e in events]
    # Every accepted command is in the store (volume is a no-op after its first change).
    assert kinds.count("TrackChanged") >= 20
    assert kinds.count("Paused") + kinds.count("Resumed") >= 2


def test_a_device_socket_gets_the_state_and_follows_commands(
    client: TestClient, tmp_path: Path
) -> None:
    auth = _account(client)
    headers = {"Authorization": auth["Authorization"]}
    zone_id, folder = _zone_with_music(client, auth, tmp_path, tracks=2)
    code = client.post(f"/api/zones/{zone_id}/pairing-code/", headers=headers).json()["code"]
    token = client.post("/api/devices/pair/", json={
        "code": code, "device_id": f"hw-{uuid.uuid4().hex[:8]}", "name": "Spk",
        "device_type": "speaker"}).json()["token"]
    with client.websocket_connect(f"/ws/playback/{zone_id}/?token={token}") as ws:
        first = ws.receive_json()
        assert first["type"] == "zone.state" and first["state"]["current"] is None
        played = client.post("/api/playback/play/", headers=headers,
                             json={"zone_id": zone_id, "folder_ids": [folder]}).json()
        frame = ws.receive_json()
        while frame["state"]["play_seq"] != played["play_seq"]:
            frame = ws.receive_json()
        assert frame["version"] > first["version"]
        assert frame["state"]["current"]["url"]
        ws.send_json({"type": "next"})
        assert _reply(ws) == {"type": "ack", "of": "next"}
        ws.send_json({"type": "volume", "volume": 500})
        assert _reply(ws)["type"] == "error"
        ws.send_json({"type": "heartbeat"})
        assert _reply(ws) == {"type": "ack", "of": "heartbeat"}


def _reply(ws: Any) -> dict[str, Any]:
    """The next message that is not a state frame (those may arrive in between)."""
    while True:
        message: dict[str, Any] = ws.receive_json()
        if message["type"] != "zone.state":
            return message


@pytest.mark.parametrize(("token_of", "code"), [("nobody", 4401), ("other", 4404)])
def test_sockets_without_the_right_credentials_are_closed(
    client: TestClient, tmp_path: Path, token_of: str, code: int
) -> None:
    owner = _account(client)
    zone_id = client.post("/api/zones/", json={"name": "Z"}, headers={
        "Authorization": owner["Authorization"]}).json()["id"]
    token = "garbage" if token_of == "nobody" else _account(client)["token"]
    with pytest.raises(WebSocketDisconnect) as closed, client.websocket_connect(
            f"/ws/playback/{zone_id}/?token={token}") as ws:
        ws.receive_json()
    assert closed.value.code == code


def test_another_clients_zone_is_not_found(client: TestClient) -> None:
    owner, stranger = _account(client), _account(client)
    zone_id = client.post("/api/zones/", json={"name": "Z"}, headers={
        "Authorization": owner["Authorization"]}).json()["id"]
    headers = {"Authorization": stranger["Authorization"]}
    assert client.get(f"/api/zones/{zone_id}/", headers=headers).status_code == 404
    assert client.post("/api/playback/pause/", json={"zone_id": zone_id},
                       headers=headers).status_code == 404
    assert client.get(f"/api/playback/state/?zone_id={zone_id}",
                      headers=headers).status_code == 404


def test_a_track_deleted_from_the_library_is_skipped_and_never_played(
    client: TestClient, container: Container, tmp_path: Path
) -> None:
    auth = _account(client)
    headers = {"Authorization": auth["Authorization"]}
    zone_id, folder = _zone_with_music(client, auth, tmp_path, tracks=3)
    played = client.post("/api/playback/play/", headers=headers,
                         json={"zone_id": zone_id, "folder_ids": [folder]}).json()
    current = played["current"]["item_id"]
    assert client.delete(f"/api/music/files/{current}/", headers=headers).status_code == 204
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        zone = container.playback.get_zone(uuid.UUID(zone_id))
        if zone.current is not None and str(zone.current.item_id) != current:
            break
        time.sleep(0.1)
    assert zone.current is not None and str(zone.current.item_id) != current
    for _ in range(6):  # a whole loop and more: the deleted track never comes back
        state = client.post("/api/playback/next/", json={"zone_id": zone_id},
                            headers=headers).json()
        assert state["current"]["item_id"] != current
