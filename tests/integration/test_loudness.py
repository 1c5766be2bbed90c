"""Loudness matching and waveforms through HTTP: real uploads, the background job
(in-process dramatiq worker), the library view and the zone's live state."""

from __future__ import annotations

import hashlib
import time
import uuid
import wave
from io import BytesIO
from pathlib import Path
from typing import Any
from uuid import UUID

import numpy as np
import pyloudnorm
import pytest
from fastapi.testclient import TestClient

from application.library import StoredUpload
from domain.base import Actor, CommandContext
from domain.library import MUSIC_FORMATS
from domain.quota import GB
from infra.bootstrap import Container
from tests.integration.accounts_helpers import Account, assert_problem, signup
from tests.integration.library_fixtures import upload_track

RATE = 44100
CTX = CommandContext(Actor.system("test"), "t")


def tone_wav(dbfs: float, seconds: float = 4.0, freq: float = 997) -> bytes:
    t = np.arange(round(seconds * RATE)) / RATE
    pcm = np.round(10 ** (dbfs / 20) * np.sin(2 * np.pi * freq * t) * 32767).astype("<i2")
    out = BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(RATE)
        w.writeframes(pcm.tobytes())
    return out.getvalue()


def decoded(data: bytes) -> np.ndarray:
    with wave.open(BytesIO(data)) as w:
        return np.frombuffer(w.readframes(w.getnframes()), "<i2") / 32768.0


def measured(client: TestClient, account: Account, track_id: str,
             position: int) -> dict[str, Any]:
    deadline = time.monotonic() + 20
    while True:
        body: dict[str, Any] = client.get(f"/api/music/files/{track_id}/",
                                          headers=account.waiting(position)).json()
        if body.get("has_waveform"):
            return body
        assert time.monotonic() < deadline, body
        time.sleep(0.1)


@pytest.fixture
def account(client: TestClient) -> Account:
    return signup(client)


def test_two_tracks_twelve_db_apart_play_within_one_lu_of_each_other(
    client: TestClient, account: Account
) -> None:
    files = {"quiet": tone_wav(-20, freq=440), "loud": tone_wav(-8, freq=441)}
    tracks = {}
    for name, data in files.items():
        created, position = upload_track(client, account, (f"{name}.wav", data, "audio/wav"))
        tracks[name] = measured(client, account, created["id"], position)
    assert tracks["loud"]["loudness_lufs"] - tracks["quiet"]["loudness_lufs"] \
        == pytest.approx(12, abs=0.5)
    assert tracks["loud"]["true_peak_dbtp"] == pytest.approx(-8, abs=0.2)

    zone = client.post("/api/zones/", json={"name": "Shop"}, headers=account.auth).json()
    played = client.post("/api/playback/play/", headers=account.auth, json={
        "zone_id": zone["id"], "track_ids": [tracks["quiet"]["id"], tracks["loud"]["id"]]})
    assert played.status_code == 200, played.text
    state = played.json()
    gains = {state["current"]["item_id"]: state["current"]["gain_db"],
             state["next"]["item_id"]: state["next"]["gain_db"]}

    meter = pyloudnorm.Meter(RATE)
    out = {name: meter.integrated_loudness(decoded(files[name])
                                           * 10 ** (gains[tracks[name]["id"]] / 20))
           for name in files}
    assert abs(out["loud"] - out["quiet"]) < 1.0
    assert out["quiet"] == pytest.approx(-14.0, abs=1.0)  # the zone's default target


def test_the_waveform_is_404_until_measured_and_hidden_from_other_tenants(
    client: TestClient, container: Container, account: Account, tmp_path: Path
) -> None:
    client_id, track_id = UUID(account.client_id), uuid.uuid4()
    data = tone_wav(-12, seconds=2)
    path = tmp_path / "w.wav"
    path.write_bytes(data)
    probe = container.inspector.probe(path, MUSIC_FORMATS)
    key = f"clients/{client_id}/tracks/{track_id}.wav"
    upload = StoredUpload("w.wav", len(data), hashlib.sha256(data).hexdigest(), key, probe)
    # The blob is not stored yet, so the background job cannot measure it.
    _, position = container.library.add_track(CTX, client_id, track_id, upload,
                                              folder_id=None, limit_bytes=10 * GB)
    url = f"/api/music/files/{track_id}/waveform/"
    assert_problem(client.get(url, headers=account.waiting(position)), 404)

    container.storage.put_bytes(key, data, probe.content_type)
    container.processor.extract_track(track_id)
    container.processor.extract_track(track_id)  # a retried job records nothing new

    deadline = time.monotonic() + 10
    while (got := client.get(url, headers=account.auth)).status_code == 404:
        assert time.monotonic() < deadline, got.text
        time.sleep(0.05)
    body = got.json()
    assert len(body["peaks"]) == 1000 and body["duration"] == pytest.approx(2.0, abs=0.01)
    assert body["peaks"][500] == pytest.approx([-0.251, 0.251], abs=0.01)
    events = list(container.library.events.get(track_id))  # type: ignore[attr-defined]
    assert [type(e).__name__ for e in events].count("LoudnessMeasured") == 1
    assert_problem(client.get(url, headers=signup(client).auth), 404)
    waveform_key = f"clients/{client_id}/waveforms/{track_id}.json"
    assert container.storage.exists(waveform_key)
    deleted = client.delete(f"/api/music/files/{track_id}/", headers=account.auth)
    assert deleted.status_code == 204, deleted.text
    assert not container.storage.exists(waveform_key)


def test_an_uploaded_announcement_is_measured_and_its_waveform_served(
    client: TestClient, account: Account
) -> None:
    up = client.post("/api/announcements/upload/", headers=account.auth,
                     files={"file": ("a.wav", tone_wav(-10, seconds=1.5), "audio/wav")})
    assert up.status_code == 201, up.text
    ann_id, position = up.json()["id"], int(up.headers["X-Event-Position"])
    deadline = time.monotonic() + 20
    while not (body := client.get(f"/api/announcements/{ann_id}/",
                                  headers=account.waiting(position)).json()).get("has_waveform"):
        assert time.monotonic() < deadline, body
        time.sleep(0.1)
    assert body["true_peak_dbtp"] == pytest.approx(-10, abs=0.2)
    waveform = client.get(f"/api/announcements/{ann_id}/waveform/", headers=account.auth)
    assert waveform.status_code == 200 and len(waveform.json()["peaks"]) == 1000
    assert_problem(client.get(f"/api/announcements/{ann_id}/waveform/",
                              headers=signup(client).auth), 404)
