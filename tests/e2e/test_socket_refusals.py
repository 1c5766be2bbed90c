"""A real WebSocket client, against a real server, can read why it was refused
(issue 12, finding 7): the socket is accepted, then closed with 4401 (no valid
session), 4403 (not allowed here) or 4404 (no such zone) — never a bare HTTP 403
at the handshake, which a device cannot tell apart. And a revocation closes an
open socket by itself."""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

import httpx
import websockets
from websockets.exceptions import ConnectionClosed

from tests.e2e.conftest import free_port, wait_until_up


def _signup(http: httpx.Client) -> dict[str, str]:
    body = http.post("/api/auth/signup/", json={
        "email": f"ws-{uuid.uuid4().hex[:8]}@example.com", "password": "a-long-password",
        "name": "Wes", "client_name": "Wes Shop"}).json()
    return {"Authorization": f"Bearer {body['access']}"}


def _pair(http: httpx.Client, auth: dict[str, str], zone_id: str) -> tuple[str, str]:
    code = http.post(f"/api/zones/{zone_id}/pairing-code/", headers=auth).json()["code"]
    paired = http.post("/api/devices/pair/", json={
        "code": code, "device_id": f"hw-{uuid.uuid4().hex[:8]}", "name": "Spk",
        "device_type": "speaker"}).json()
    return str(paired["device"]["id"]), str(paired["token"])


async def _close_code(url: str) -> tuple[int, str]:
    async with websockets.connect(url, open_timeout=10) as socket:
        return await _until_closed(socket)


async def _revoked_while_open(url: str, revoke: Any) -> tuple[int, str]:
    async with websockets.connect(url, open_timeout=10) as socket:
        assert json.loads(await asyncio.wait_for(socket.recv(), 10))["type"] == "zone.state"
        await asyncio.to_thread(revoke)
        return await _until_closed(socket)


async def _until_closed(socket: Any) -> tuple[int, str]:
    """The close code and reason the server sent (frames before it are skipped)."""
    try:
        while True:
            await asyncio.wait_for(socket.recv(), 10)
    except ConnectionClosed as closed:
        assert closed.rcvd is not None, "closed without a close frame"
        return closed.rcvd.code, closed.rcvd.reason


def test_refused_sockets_are_closed_with_a_code_the_client_can_read(
        spawn: Any, process_env: dict[str, str]) -> None:
    port = free_port()
    spawn("run", "--port", str(port), env=process_env)
    base = f"http://127.0.0.1:{port}"
    wait_until_up(base)
    ws = f"ws://127.0.0.1:{port}/ws/playback"
    with httpx.Client(base_url=base, timeout=20) as http:
        owner, stranger = _signup(http), _signup(http)
        zone = http.post("/api/zones/", json={"name": "A"}, headers=owner).json()["id"]
        other_zone = http.post("/api/zones/", json={"name": "B"}, headers=owner).json()["id"]
        device_id, token = _pair(http, owner, other_zone)
        stranger_token = stranger["Authorization"].split()[1]
        refusals = {
            "garbage token": (f"{ws}/{zone}/?token=garbage", 4401),
            "no token": (f"{ws}/{zone}/", 4401),
            "another client's zone": (f"{ws}/{zone}/?token={stranger_token}", 4404),
            "a zone that never was": (f"{ws}/{uuid.uuid4()}/?token={stranger_token}", 4404),
            "a device of another zone": (f"{ws}/{zone}/?token={token}", 4403),
        }
        for what, (url, code) in refusals.items():
            got, reason = asyncio.run(_close_code(url))
            assert got == code, f"{what}: closed {got} ({reason}), expected {code}"
            assert reason, what
        got, reason = asyncio.run(_revoked_while_open(
            f"{ws}/{other_zone}/?token={token}",
            lambda: http.delete(f"/api/devices/{device_id}/token/", headers=owner)))
        assert (got, reason) == (4401, "device token has been revoked or replaced")
