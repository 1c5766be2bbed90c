"""Devices follow a zone live over WebSocket, across two API processes."""

from __future__ import annotations

import asyncio
import json
import uuid
from pathlib import Path
from typing import Any

import httpx
import websockets

from tests.audio_factory import make_wav
from tests.e2e.conftest import free_port, wait_until_up


def _signup(http: httpx.Client) -> dict[str, str]:
    body = http.post("/api/auth/signup/", json={
        "email": f"live-{uuid.uuid4().hex[:8]}@example.com", "password": "a-long-password",
        "name": "Liv", "client_name": "Live Shop"}).json()
    return {"Authorization": f"Bearer {body['access']}"}


def _device_token(http: httpx.Client, auth: dict[str, str], zone_id: str, hw: str) -> str:
    code = http.post(f"/api/zones/{zone_id}/pairing-code/", headers=auth).json()["code"]
    paired = http.post("/api/devices/pair/", json={
        "code": code, "device_id": hw, "name": hw, "device_type": "speaker"})
    assert paired.status_code == 201, paired.text
    return str(paired.json()["token"])


def _setup_zone(http: httpx.Client, auth: dict[str, str], tmp: Path) -> tuple[str, str, str]:
    zone_id = http.post("/api/zones/", json={"name": "Floor"}, headers=auth).json()["id"]
    folder = http.post("/api/music/folders/", json={"name": "Mix"}, headers=auth).json()["id"]
    for i in range(3):
        path = tmp / f"track{i}.wav"
        make_wav(path, 30 + i)
        up = http.post("/api/music/upload/", headers=auth, data={"folder_id": folder},
                       files=[("files", (path.name, path.read_bytes(), "audio/wav"))])
        assert up.status_code == 201, up.text
    speech = tmp / "ann.wav"
    make_wav(speech, 5)
    ann = http.post("/api/announcements/upload/", headers=auth, data={"title": "Closing"},
                    files=[("file", (speech.name, speech.read_bytes(), "audio/wav"))])
    assert ann.status_code == 201, ann.text
    http.get("/api/music/files/", headers={
        **auth, "X-Wait-For-Position": ann.headers["X-Event-Position"]})
    return zone_id, folder, ann.json()["id"]


class Device:
    """A WebSocket client recording every state frame it receives."""

    def __init__(self, url: str) -> None:
        self.url, self.frames = url, []  # type: ignore[var-annotated]
        self.socket: Any = None

    async def __aenter__(self) -> Device:
        self.socket = await websockets.connect(self.url)
        self.frames.append(await self._frame())
        return self

    async def __aexit__(self, *args: object) -> None:
        await self.socket.close()

    async def _frame(self) -> dict[str, Any]:
        while True:
            message = json.loads(await asyncio.wait_for(self.socket.recv(), 10))
            if message["type"] == "zone.state":
                return message  # type: ignore[no-any-return]

    async def until(self, check: Any) -> dict[str, Any]:
        while not check(self.frames[-1]["state"]):
            self.frames.append(await self._frame())
        return self.frames[-1]

    async def send(self, **message: Any) -> None:
        await self.socket.send(json.dumps(message))


def test_two_devices_on_two_servers_follow_play_ends_and_an_announcement(
    spawn: Any, process_env: dict[str, str], tmp_path: Path
) -> None:
    ports = [free_port(), free_port()]
    spawn("run", "--port", str(ports[0]), env=process_env)
    spawn("run", "--port", str(ports[1]), env={**process_env, "PROJECTIONS_IN_PROCESS": "false"})
    bases = [f"http://127.0.0.1:{p}" for p in ports]
    for base in bases:
        wait_until_up(base)
    with httpx.Client(base_url=bases[0], timeout=20) as http:
        auth = _signup(http)
        zone_id, folder, ann_id = _setup_zone(http, auth, tmp_path)
        tokens = [_device_token(http, auth, zone_id, f"hw-{uuid.uuid4().hex[:6]}")
                  for _ in range(2)]
    asyncio.run(_scenario(bases, auth, zone_id, folder, ann_id, tokens))


async def _scenario(bases: list[str], auth: dict[str, str], zone_id: str, folder: str,
                    ann_id: str, tokens: list[str]) -> None:
    urls = [f"{b.replace('http', 'ws')}/ws/playback/{zone_id}/?token={t}"
            for b, t in zip(bases, tokens, strict=True)]
    async with Device(urls[0]) as a, Device(urls[1]) as b, httpx.AsyncClient(
            base_url=bases[1], headers=auth, timeout=20) as http:
        # A command accepted by server B reaches both devices (one on each server).
        played = await http.post("/api/playback/play/", json={
            "zone_id": zone_id, "folder_ids": [folder]})
        assert played.status_code == 200, played.text
        first = played.json()
        for device in (a, b):
            frame = await device.until(lambda s: s["play_seq"] == first["play_seq"])
            assert frame["state"]["current"]["item_id"] == first["current"]["item_id"]
            assert frame["state"]["current"]["url"].startswith("http")
        # Both devices report the same end: the zone advances once.
        for device in (a, b):
            await device.send(type="ended", play_seq=first["play_seq"], queue_position=0)
        second = await a.until(lambda s: s["queue_position"] == 1)
        await b.until(lambda s: s["queue_position"] == 1)
        await asyncio.sleep(0.5)
        state = (await http.get(f"/api/playback/state/?zone_id={zone_id}")).json()
        assert state["queue_position"] == 1
        assert state["play_seq"] == second["state"]["play_seq"]
        # Pause at a known spot, then an announcement interrupts.
        await http.post("/api/playback/seek/", json={"zone_id": zone_id, "position_ms": 7000})
        paused = (await http.post("/api/playback/pause/", json={"zone_id": zone_id})).json()
        interrupted = await http.post(f"/api/announcements/{ann_id}/play-instant/",
                                      json={"zone_ids": [zone_id]})
        assert interrupted.status_code == 200, interrupted.text
        for device in (a, b):
            frame = await device.until(lambda s: s["announcement"] is not None)
            assert frame["state"]["announcement"]["announcement_id"] == ann_id
        announcing = a.frames[-1]["state"]["play_seq"]
        await a.send(type="ended", play_seq=announcing)
        for device in (a, b):
            frame = await device.until(lambda s: s["announcement"] is None)
            state = frame["state"]
            assert state["queue_position"] == 1
            assert state["position_ms"] == paused["position_ms"]
            assert state["music_playing"] is False
        # Both devices saw the same states, in the same order.
        seen = [[f["version"] for f in d.frames] for d in (a, b)]
        assert seen[0][-1] == seen[1][-1]
        for versions in seen:
            assert versions == sorted(versions)
