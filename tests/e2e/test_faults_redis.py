"""Redis killed and restarted under two API processes: nothing that was accepted is lost.

While Redis is down, commands are still accepted (they are stored in
PostgreSQL); the projections that feed Redis (live zone state, background
jobs) stop at the first event they cannot deliver and take it up again once
Redis is back. A device on the other API process is resynchronised, and the
jobs asked for during the outage are queued and done. The Redis server is the
test's own and runs without persistence, as after a crash that lost its data.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis

from tests.audio_factory import espeak_available, make_wav
from tests.e2e.conftest import free_port, wait_until_up
from tests.e2e.faults import event_topics, fresh_database, signup, until
from tests.e2e.test_live_playback import Device, _device_token
from tests.integration.test_redis_outage import RedisServer

VOLUMES = [21, 22, 23, 24, 25]

pytestmark = pytest.mark.skipif(not espeak_available(), reason="espeak-ng not installed")


@pytest.fixture
def database(servers: dict[str, str]) -> Iterator[str]:
    with fresh_database(servers["database_url"]) as url:
        yield url


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path)
    server.start()
    yield server
    server.stop()


async def _commands_while_down(http: httpx.AsyncClient, zone_id: str,
                               tmp: Path) -> dict[str, str]:
    """Every kind of command during the outage; all are accepted."""
    for volume in VOLUMES:
        r = await http.post("/api/playback/volume/", json={"zone_id": zone_id, "volume": volume})
        assert r.status_code == 200, r.text
    other = await http.post("/api/zones/", json={"name": "Annex"})
    assert other.status_code == 201, other.text
    audio = make_wav(tmp / "during.wav", 3)
    up = await http.post("/api/music/upload/",
                         files=[("files", (audio.name, audio.read_bytes(), "audio/wav"))])
    assert up.status_code == 201, up.text
    tts = await http.post("/api/announcements/tts/", json={"text": "Back in five minutes"})
    assert tts.status_code == 202, tts.text
    return {"track": up.json()["created"][0]["id"], "announcement": tts.json()["id"]}


async def _scenario(bases: list[str], auth: dict[str, str], zone_id: str, token: str,
                    own_redis: RedisServer, tmp: Path) -> tuple[dict[str, str], float]:
    """Commands while Redis is down; returns what they created and when Redis restarted."""
    url = f"{bases[1].replace('http', 'ws')}/ws/playback/{zone_id}/?token={token}"
    async with Device(url) as device, httpx.AsyncClient(
            base_url=bases[0], headers=auth, timeout=30) as http:
        own_redis.stop()  # SIGKILL
        created = await _commands_while_down(http, zone_id, tmp)
        await asyncio.sleep(2)  # the projections meet the outage
        own_redis.start()
        restarted = time.monotonic()
        frame = await device.until(lambda s: s["volume"] == VOLUMES[-1])
        assert frame["version"] > device.frames[0]["version"]
        print(f"\ndevice resynced {time.monotonic() - restarted:.1f} s after the restart")
    return created, restarted


def test_redis_killed_and_restarted_loses_no_command_job_or_device_update(
    spawn: Any, process_env: dict[str, str], database: str, own_redis: RedisServer,
    tmp_path: Path
) -> None:
    prefix = f"faults-{uuid.uuid4().hex[:6]}:"
    env = {**process_env, "DATABASE_URL": database, "REDIS_PREFIX": prefix,
           "REDIS_URL": f"redis://127.0.0.1:{own_redis.port}/0"}
    ports = [free_port(), free_port()]
    spawn("run", "--port", str(ports[0]), env=env)
    spawn("run", "--port", str(ports[1]), env={
        **env, "PROJECTIONS_IN_PROCESS": "false", "WORKERS_IN_PROCESS": "false"})
    bases = [f"http://127.0.0.1:{p}" for p in ports]
    for base in bases:
        wait_until_up(base)
    auth = signup(bases[0], "Rita")
    with httpx.Client(base_url=bases[0], headers=auth, timeout=30) as http:
        zone_id = http.post("/api/zones/", json={"name": "Hall"}).json()["id"]
        token = _device_token(http, auth, zone_id, f"hw-{uuid.uuid4().hex[:6]}")

    created, restarted = asyncio.run(_scenario(bases, auth, zone_id, token, own_redis, tmp_path))

    def ready(path: str) -> bool:
        return httpx.get(f"{bases[0]}{path}", headers=auth, timeout=10).json()["status"] == "ready"

    until(lambda: ready(f"/api/music/files/{created['track']}/")
          and ready(f"/api/announcements/{created['announcement']}/"),
          60, "the jobs asked for during the outage are done")
    print(f"jobs done {time.monotonic() - restarted:.1f} s after the restart")
    # The live state in Redis is the zone's newest version.
    live = redis.Redis.from_url(env["REDIS_URL"])
    stored_version = len(event_topics(database, "playback_events", zone_id))
    until(lambda: live.hget(f"{prefix}zone:{zone_id}:state", "version")
          == str(stored_version).encode(), 30, "the live state reaches the newest version")
    live.close()

    def caught_up() -> bool:
        body = httpx.get(f"{bases[0]}/api/ready/", timeout=10).json()
        return body["status"] == "ready" and not any(body["checks"]["projection_lag"].values())

    until(caught_up, 30, "every projection has processed every event")
