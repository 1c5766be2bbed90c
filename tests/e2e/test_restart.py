"""Restart: the current track again from its start, playing or paused as it was.

CONTRIBUTING.md's worked example of adding a command, end to end: `Zone.restart`
(domain), the `Restart` command and its handler (application), its route (and
socket message, from the command's `message`), the console's button, and this test.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.sync.client import connect

from tests.audio_factory import mp3_bytes
from tests.e2e.browser_support import browser_pages, eventually, seed, sign_up
from tests.e2e.test_browser import base_url, log_in, start_zone, upload_song

__all__ = ["base_url"]  # the fixture: a whole system in its own process


def _state(http: httpx.Client, auth: dict[str, str], zone: str) -> dict[str, Any]:
    answer = http.get(f"/api/playback/state/?zone_id={zone}", headers=auth)
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def _command(http: httpx.Client, auth: dict[str, str], name: str, zone: str,
             status: int = 200, **extra: Any) -> dict[str, Any]:
    answer = http.post(f"/api/playback/{name}/", json={"zone_id": zone, **extra},
                       headers=auth)
    assert answer.status_code == status, answer.text
    return dict(answer.json())


@pytest.mark.timeout(120)
def test_the_consoles_restart_button_plays_the_track_from_its_start(
        base_url: str, tmp_path: Path) -> None:
    with httpx.Client(base_url=base_url, timeout=20) as http:
        email, auth = sign_up(http)
        zone = seed(http, auth)["zone"]
        with browser_pages(base_url) as pages:
            console = pages.open("console")
            log_in(console, email)
            upload_song(console, tmp_path / "song.mp3")
            start_zone(console)  # its progress bar has moved a second or more
            before = _state(http, auth, zone)
            card = console.get_by_test_id("zone-card")
            card.get_by_test_id("restart").click()
            restarted = eventually(
                lambda: (s := _state(http, auth, zone))["version"] > before["version"]
                and s or None, timeout=5, what="the restart stored")
            assert (restarted["position_ms"], restarted["music_playing"]) == (0, True)
            assert restarted["current"]["item_id"] == before["current"]["item_id"]
            bar = card.get_by_test_id("now-progress")
            eventually(lambda: float(bar.get_attribute("aria-valuenow") or "inf") < 2000
                       or None, timeout=5, what="the progress bar back at the start")
            pages.shot("restarted", "console")
            assert pages.errors == [], pages.errors


@pytest.mark.timeout(120)
def test_restart_over_http_and_the_socket_keeps_a_paused_zone_paused(
        base_url: str) -> None:
    with httpx.Client(base_url=base_url, timeout=20) as http:
        _, auth = sign_up(http)
        ids = seed(http, auth)
        zone = ids["zone"]
        refused = _command(http, auth, "restart", zone, 409)
        assert "start playback first" in refused["detail"]
        _, stranger = sign_up(http)
        _command(http, stranger, "restart", zone, 404)

        upload = http.post("/api/music/upload/", headers=auth, data={"folder_id": ids["folder"]},
                           files=[("file", ("a.mp3", mp3_bytes(20), "audio/mpeg"))])
        assert upload.status_code == 201, upload.text
        _wait_ready(http, auth)
        _command(http, auth, "play", zone, folder_ids=[ids["folder"]])
        _command(http, auth, "pause", zone)
        sought = _command(http, auth, "seek", zone, position_ms=5000)
        again = _command(http, auth, "restart", zone)
        assert (again["position_ms"], again["music_playing"]) == (0, False)
        assert again["version"] == sought["version"] + 1

        at_seven = _command(http, auth, "seek", zone, position_ms=7000)
        token = auth["Authorization"].removeprefix("Bearer ")
        ws_url = base_url.replace("http://", "ws://") + f"/ws/playback/{zone}/?token={token}"
        with connect(ws_url) as ws:
            assert json.loads(ws.recv(timeout=10))["type"] == "zone.state"
            ws.send(json.dumps({"type": "restart"}))
            acked, restarted, deadline = False, None, time.monotonic() + 10
            while not (acked and restarted):  # the ack, and the device's frame of it
                message = json.loads(ws.recv(timeout=10))
                assert message["type"] != "error", message
                acked = acked or message["type"] == "ack"
                if message["type"] == "zone.state" \
                        and message["state"]["version"] == at_seven["version"] + 1:
                    restarted = message["state"]
                assert time.monotonic() < deadline
        assert (restarted["position_ms"], restarted["music_playing"]) == (0, False)

def _wait_ready(http: httpx.Client, auth: dict[str, str]) -> None:
    def ready() -> bool | None:
        tracks = http.get("/api/music/files/", headers=auth).json()["results"]
        return bool(tracks) and all(t["status"] == "ready" for t in tracks) or None
    eventually(ready, timeout=20, what="the upload read")
