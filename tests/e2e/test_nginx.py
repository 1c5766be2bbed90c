"""infra/nginx/nginx.conf in front of two real API processes, as docker-compose runs it.

The configuration is the shipped file with only the addresses changed (the
replicas' and nginx's own port); nginx is the Debian binary.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
import websockets

from tests.e2e.conftest import free_port, wait_until_up

CONF = Path(__file__).resolve().parents[2] / "infra" / "nginx" / "nginx.conf"

pytestmark = pytest.mark.skipif(shutil.which("nginx") is None,
                                reason="nginx is not installed (apt-get install nginx-light)")


def local_conf(api_ports: tuple[int, int], port: int) -> str:
    text = CONF.read_text()
    for name, api_port in zip(("api-1:8000", "api-2:8000"), api_ports, strict=True):
        assert name in text
        text = text.replace(name, f"127.0.0.1:{api_port}")
    assert "listen 80;" in text
    return text.replace("listen 80;", f"listen 127.0.0.1:{port};")


@pytest.fixture
def nginx(tmp_path: Path) -> Iterator[Callable[[tuple[int, int]], str]]:
    """Start nginx with the shipped configuration in front of two local ports."""
    started: list[subprocess.Popen[bytes]] = []

    def start(api_ports: tuple[int, int]) -> str:
        port = free_port()
        conf = tmp_path / "nginx.conf"
        conf.write_text(local_conf(api_ports, port))
        log = open(tmp_path / "nginx.log", "wb")  # noqa: SIM115
        started.append(subprocess.Popen(
            ["nginx", "-p", str(tmp_path), "-c", str(conf), "-g", "daemon off;"],
            stdout=log, stderr=subprocess.STDOUT))
        return f"127.0.0.1:{port}"

    yield start
    for proc in started:
        proc.terminate()
        proc.wait(10)


def test_shipped_nginx_conf_is_valid(tmp_path: Path) -> None:
    conf = tmp_path / "nginx.conf"
    conf.write_text(local_conf((free_port(), free_port()), free_port()))
    checked = subprocess.run(["nginx", "-t", "-p", str(tmp_path), "-c", str(conf)],
                             capture_output=True, text=True)
    assert checked.returncode == 0, checked.stderr


def test_two_replicas_behind_nginx_serve_http_and_websocket_and_survive_one_stopping(
        spawn: Callable[..., subprocess.Popen[bytes]], process_env: dict[str, str],
        nginx: Callable[[tuple[int, int]], str]) -> None:
    env = {**process_env, "PROJECTIONS_IN_PROCESS": "false"}
    ports = (free_port(), free_port())
    replicas = [spawn("run", "--port", str(p), env=env) for p in ports]
    spawn("projections", env=env)
    for p in ports:
        wait_until_up(f"http://127.0.0.1:{p}")
    address = nginx(ports)
    base = f"http://{address}"
    wait_until_up(base)

    with httpx.Client(base_url=base, timeout=15) as http:
        auth, zone = _zone(http)
        # Sockets land on both replicas (least_conn); every command, whichever
        # replica takes it, reaches every socket through Redis.
        sent, seen = asyncio.run(_follow(
            f"ws://{address}/ws/playback/{zone}/?token={auth[1]}", http, auth[0], zone,
            sockets=4, commands=4))
        assert len(sent) == 4 and all(versions == sent for versions in seen), (sent, seen)

        replicas[0].terminate()
        replicas[0].wait(15)
        for _ in range(6):  # nginx passes over the stopped replica
            listed = http.get("/api/zones/", headers=auth[0])
            assert listed.status_code == 200, listed.text
        sent, seen = asyncio.run(_follow(
            f"ws://{address}/ws/playback/{zone}/?token={auth[1]}", http, auth[0], zone,
            sockets=2, commands=1))
        assert seen == [sent, sent]


def _zone(http: httpx.Client) -> tuple[tuple[dict[str, str], str], str]:
    signup = http.post("/api/auth/signup/", json={
        "email": f"nginx-{uuid.uuid4().hex[:8]}@example.com", "password": "a-long-password",
        "name": "Nia", "client_name": "Proxy Cafe"})
    assert signup.status_code == 201, signup.text
    token = signup.json()["access"]
    auth = {"Authorization": f"Bearer {token}"}
    zone = http.post("/api/zones/", json={"name": "Bar"}, headers=auth)
    assert zone.status_code == 201, zone.text
    return (auth, token), zone.json()["id"]


async def _follow(url: str, http: httpx.Client, auth: dict[str, str], zone: str, *,
                  sockets: int, commands: int) -> tuple[list[int], list[list[int]]]:
    """Open `sockets`, send `commands` volume changes: the versions the commands
    made, and the versions each socket saw for them."""
    conns = [await websockets.connect(url) for _ in range(sockets)]
    sent: list[int] = []
    seen: list[list[int]] = [[] for _ in range(sockets)]
    try:
        for ws in conns:
            assert json.loads(await asyncio.wait_for(ws.recv(), 10))["type"] == "zone.state"
        for n in range(commands):
            answer = http.post("/api/playback/volume/", headers=auth,
                               json={"zone_id": zone, "volume": 10 + n})
            assert answer.status_code == 200, answer.text
            version = answer.json()["version"]
            sent.append(version)
            for i, ws in enumerate(conns):
                seen[i].append(await _until(ws, version))
    finally:
        for ws in conns:
            await ws.close()
    return sent, seen


async def _until(ws: websockets.ClientConnection, version: int) -> int:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        frame = json.loads(await asyncio.wait_for(ws.recv(), 10))
        if frame["version"] >= version:
            return int(frame["version"])
    raise TimeoutError(f"no frame with version {version}")
