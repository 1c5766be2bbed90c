"""A client's zone, music folders and a ready announcement, made through the API."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from tests.audio_factory import make_wav
from tests.integration.accounts_helpers import Account, signup
from tests.integration.library_fixtures import upload_track, wait_for_track, wait_until_done


@dataclass
class Venue:
    account: Account
    zone_id: str
    folders: dict[str, str]  # name -> id
    announcement_id: str


def make_venue(client: TestClient, tmp: Path, *, timezone: str = "UTC",
               folders: tuple[str, ...] = ("Day",)) -> Venue:
    account = signup(client)
    zone = client.post("/api/zones/", json={"name": "Floor", "timezone": timezone},
                       headers=account.auth)
    assert zone.status_code == 201, zone.text
    made: dict[str, str] = {}
    for n, name in enumerate(folders):
        folder = client.post("/api/music/folders/", json={"name": name}, headers=account.auth)
        assert folder.status_code == 201, folder.text
        made[name] = folder.json()["id"]
        path = make_wav(tmp / f"{name}.wav", 30 + n, freq=300 + 100 * n)
        track, position = upload_track(client, account, (path.name, path.read_bytes(),
                                                         "audio/wav"), made[name])
        wait_for_track(client, account, track["id"], position)
    chime = make_wav(tmp / "chime.wav", 3, freq=880)
    response = client.post("/api/announcements/upload/", headers=account.auth,
                           files={"file": ("chime.wav", chime.read_bytes(), "audio/wav")},
                           data={"title": "Closing soon"})
    assert response.status_code == 201, response.text
    ann = wait_until_done(client, account, f"/api/announcements/{response.json()['id']}/",
                          int(response.headers["X-Event-Position"]))
    assert ann["status"] == "ready", ann
    return Venue(account, zone.json()["id"], made, ann["id"])


def music_rule(venue: Venue, folder: str, start: str, end: str, **extra: Any
               ) -> dict[str, Any]:
    return {"name": f"{folder} music", "type": "music", "mode": "timeline",
            "folder_ids": [venue.folders[folder]], "start_time": start, "end_time": end,
            "zone_ids": [venue.zone_id], **extra}


def every_rule(venue: Venue, minutes: int, start: str | None = None, end: str | None = None,
               **extra: Any) -> dict[str, Any]:
    return {"name": f"every {minutes} min", "type": "announcement", "mode": "interval",
            "interval_type": "time", "interval_minutes": minutes,
            "announcement_id": venue.announcement_id, "start_time": start, "end_time": end,
            "zone_ids": [venue.zone_id], **extra}
