"""The whole system as separate processes on one PostgreSQL and Redis: two API
servers, a worker, a scheduler and a projection runner, on a database of the
test's own (so nothing else projects or schedules it).

A manager uploads music on server A (the worker reads its tags), schedules it
for a window open now on server B (the scheduler starts it), a device on B
follows; text-to-speech made by the worker interrupts the music on the
device connected to A; the zone's history names the schedule that started it.
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from tests.audio_factory import make_wav
from tests.e2e.conftest import free_port, wait_until_up
from tests.e2e.test_live_playback import Device, _device_token, _signup


def poll(http: httpx.Client, url: str, headers: dict[str, str], done: Any,
         timeout: float = 180) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        body: dict[str, Any] = http.get(url, headers=headers).json()
        if done(body):
            return body
        assert time.monotonic() < deadline, f"{url}: {body}"
        time.sleep(0.25)


def waiting(auth: dict[str, str], response: httpx.Response) -> dict[str, str]:
    return {**auth, "X-Wait-For-Position": response.headers["X-Event-Position"]}


def test_api_replicas_worker_scheduler_and_projections_work_together(
        spawn: Any, process_env: dict[str, str], own_database: str, tmp_path: Path) -> None:
    env = {**process_env, "DATABASE_URL": own_database, "PROJECTIONS_IN_PROCESS": "false",
           "WORKERS_IN_PROCESS": "false", "SCHEDULE_TICK_SECONDS": "0.5",
           "SCHEDULER_IN_PROCESS": "false"}
    ports = free_port(), free_port()
    for port in ports:
        spawn("run", "--port", str(port), env=env)
    spawn("worker", env=env)
    spawn("scheduler", env=env)
    spawn("projections", env=env)
    a, b = (f"http://127.0.0.1:{port}" for port in ports)
    for base in (a, b):
        wait_until_up(base)

    with httpx.Client(base_url=a, timeout=15) as on_a, httpx.Client(base_url=b,
                                                                     timeout=15) as on_b:
        auth = _signup(on_a)
        folder = on_a.post("/api/music/folders/", json={"name": "Day"}, headers=auth).json()
        song = make_wav(tmp_path / "song.wav", 40)
        up = on_a.post("/api/music/upload/", headers=auth, data={"folder_id": folder["id"]},
                       files=[("files", (song.name, song.read_bytes(), "audio/wav"))])
        assert up.status_code == 201, up.text
        track = up.json()["created"][0]
        poll(on_b, f"/api/music/files/{track['id']}/", waiting(auth, up),
             lambda t: t["status"] == "ready")

        zone = on_b.post("/api/zones/", json={"name": "Floor"}, headers=auth).json()
        now = datetime.now(UTC)
        schedule = on_a.post("/api/schedules/", headers=auth, json={
            "name": "All day", "type": "music", "folder_ids": [folder["id"]],
            "start_time": (now - timedelta(hours=1)).strftime("%H:%M"),
            "end_time": (now + timedelta(hours=1)).strftime("%H:%M"),
            "zone_ids": [zone["id"]]})
        assert schedule.status_code == 201, schedule.text
        token_b = _device_token(on_b, auth, zone["id"], "speaker-b")
        token_a = _device_token(on_a, auth, zone["id"], "speaker-a")
        speech = on_a.post("/api/announcements/tts/", headers=auth,
                           json={"text": "The shop closes in ten minutes.", "title": "Closing"})
        assert speech.status_code == 202, speech.text
        ann = poll(on_b, f"/api/announcements/{speech.json()['id']}/", waiting(auth, speech),
                   lambda x: x["status"] != "processing")
        assert ann["status"] == "ready", ann

        async def follow() -> None:
            ws = "ws://127.0.0.1:{}/ws/playback/{}/?token={}"
            async with Device(ws.format(ports[1], zone["id"], token_b)) as device_b, \
                    Device(ws.format(ports[0], zone["id"], token_a)) as device_a:
                state = await device_b.until(lambda s: s["current"] is not None)
                assert state["state"]["source"]["schedule_id"] == schedule.json()["id"]
                assert state["state"]["current"]["item_id"] == track["id"]
                played = on_b.post(f"/api/announcements/{ann['id']}/play-instant/",
                                   json={"zone_ids": [zone["id"]]}, headers=auth)
                assert played.status_code == 200, played.text
                interrupted = await device_a.until(lambda s: s["announcement"] is not None)
                assert interrupted["state"]["announcement"]["title"] == "Closing"

        asyncio.run(follow())
        history = on_a.get(f"/api/zones/{zone['id']}/history/", headers=auth).json()
        decided = [e for e in history["results"] if e["type"] == "ScheduleDecided"]
        assert decided and decided[0]["actor"] == {"kind": "schedule",
                                                   "id": schedule.json()["id"],
                                                   "name": schedule.json()["name"]}
