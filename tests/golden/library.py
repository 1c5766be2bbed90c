"""A golden store's library: folders, short real tracks and announcements, uploaded."""

from __future__ import annotations

import hashlib
import time
from typing import TYPE_CHECKING, Any

from tests.audio_factory import make_mp3, make_ogg_opus, make_png, make_wav, mp3_bytes
from tests.golden.api import Api

if TYPE_CHECKING:
    from tests.golden.scenario import Golden

READY_TIMEOUT = 60.0


def make_library(g: Golden, owner: Api, member: Api) -> tuple[dict[str, str], dict[str, str]]:
    """Two music folders and an announcement folder; four tracks (mp3 with tags and
    cover art, Ogg Opus, WAV), one uploaded by the second user; an uploaded and a
    spoken announcement. Returns folder ids by name and announcement ids by title."""
    folders = {name: owner.post("/api/music/folders/", 201, json={
        "name": name, "description": f"{name} tracks", "type": kind})["id"]
        for name, kind in (("Morning", "music"), ("Evening", "music"),
                           ("Jingles", "announcement"))}
    owner.post(f"/api/music/folders/{folders['Morning']}/cover/",
               files={"file": ("cover.png", make_png((48, 48)), "image/png")})
    tmp = g.tmp
    files = [
        (owner, "Morning", make_mp3(tmp / "sunrise.mp3", 4, title="Sunrise", artist="Golden Band",
                                    album="Day", genre="Ambient", year=2026,
                                    cover=make_png((32, 32))), "audio/mpeg"),
        (owner, "Morning", make_ogg_opus(tmp / "coffee.ogg", 3), "audio/ogg"),
        (member, "Evening", make_mp3(tmp / "dusk.mp3", 3, title="Dusk", artist="Golden Band"),
         "audio/mpeg"),
        (owner, "Evening", make_wav(tmp / "night.wav", 3, freq=330, rate=8000), "audio/wav"),
    ]
    tracks = [_upload(g, api, folders[folder], path.name, path.read_bytes(), ctype)
              for api, folder, path, ctype in files]
    morning = [t["id"] for t in tracks[:2]]
    owner.post(f"/api/music/folders/{folders['Morning']}/reorder/",
               json={"track_ids": morning[::-1]})
    owner.patch(f"/api/music/files/{tracks[1]['id']}/",
                json={"title": "Coffee", "artist": "Barista Trio", "genre": "Jazz"})
    announcements = make_announcements(g, owner, folders["Jingles"])
    g.facts["library"] = {"folders": folders,
                          "sha256": {t["id"]: t["sha256"] for t in tracks}}
    return folders, announcements


def _upload(g: Golden, api: Api, folder_id: str, name: str, data: bytes,
            content_type: str) -> dict[str, Any]:
    body = api.post("/api/music/upload/", 201, data={"folder_id": folder_id},
                    files=[("files", (name, data, content_type))])
    (track,) = body["created"]
    ready = _ready(g, api, f"/api/music/files/{track['id']}/")
    return {**ready, "sha256": hashlib.sha256(data).hexdigest()}


def make_announcements(g: Golden, owner: Api, folder_id: str) -> dict[str, str]:
    chime = mp3_bytes(2, freq=880)
    uploaded = owner.post("/api/announcements/upload/", 201, data={
        "title": "Closing soon", "folder": folder_id},
        files={"file": ("closing.mp3", chime, "audio/mpeg")})
    spoken = owner.post("/api/announcements/tts/", 202, json={
        "text": "Welcome to the Golden Cafe.", "title": "Welcome", "folder": folder_id})
    made = [_ready(g, owner, f"/api/announcements/{a['id']}/") for a in (uploaded, spoken)]
    g.facts["announcements"] = {
        "Closing soon": {"id": made[0]["id"], "sha256": hashlib.sha256(chime).hexdigest()},
        "Welcome": {"id": made[1]["id"], "sha256": owner.sha256_of(made[1]["file"])},
    }
    return {a["title"]: a["id"] for a in made}


def _ready(g: Golden, api: Api, url: str) -> dict[str, Any]:
    """The item once its background work (tags, cover art, speech) is done."""
    deadline = time.monotonic() + READY_TIMEOUT
    while True:
        g.settle()
        item: dict[str, Any] = api.get(url)
        if item["status"] != "processing":
            assert item["status"] == "ready", item
            return item
        assert time.monotonic() < deadline, item
        time.sleep(0.1)
