"""The world of the authorization matrix: two clients, staff, an admin, devices of
two zones and an ended session, with every kind of object to act on, all made
through the API. Factories make a fresh object where a call would use one up
(deleting it, revoking its token, rotating a session)."""

from __future__ import annotations

import io
import re
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from PIL import Image

from domain.accounts import Role
from infra.bootstrap import Container
from tests.audio_factory import make_wav
from tests.integration.accounts_helpers import PASSWORD, Account, login, signup, unique_email
from tests.integration.admin_helpers import sync2gear_user
from tests.integration.conftest import MailCollector
from tests.integration.library_fixtures import upload_track, wait_for_track, wait_until_done

PRINCIPALS = ("anonymous", "owner", "other_client", "staff", "admin", "zone_device",
              "other_zone_device", "revoked")
USERS = ("owner", "other_client", "staff", "admin")


@dataclass
class World:
    http: TestClient
    tmp: Path
    mail: MailCollector
    accounts: dict[str, Account] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)
    ids: dict[str, str] = field(default_factory=dict)
    made: int = 0

    def headers(self, who: str) -> dict[str, str]:
        token = self.tokens.get(who)
        return {"Authorization": f"Bearer {token}"} if token else {}

    @property
    def owner(self) -> Account:
        return self.accounts["owner"]

    def post(self, url: str, **kw: Any) -> dict[str, Any]:
        response = self.http.post(url, headers=self.owner.auth, **kw)
        assert response.status_code in (200, 201, 202), response.text
        body: dict[str, Any] = response.json()
        return body

    def clean_up(self) -> None:
        """Delete the clients' schedules and zones: a scheduler of another test, on a
        clock days ahead, would otherwise catch up days of short tracks in them."""
        for key in ("zone", "other_zone_of_owner"):  # the one playing, above all
            self.http.delete(f"/api/zones/{self.ids[key]}/", headers=self.headers("owner"))
        for who in ("owner", "other_client"):
            auth = self.headers(who)
            for kind in ("schedules", "zones"):
                listed = self.http.get(f"/api/{kind}/?page_size=200", headers=auth).json()
                for item in listed["results"]:
                    self.http.delete(f"/api/{kind}/{item['id']}/", headers=auth)

    # -- fresh objects of the owner's client ---------------------------------------------

    def new_zone(self) -> str:
        return str(self.post("/api/zones/", json={"name": "Zone"})["id"])

    def new_folder(self) -> str:
        return str(self.post("/api/music/folders/", json={"name": "Folder"})["id"])

    def new_track(self, folder_id: str | None = None) -> str:
        self.made += 1  # each its own content: uploads are deduplicated by hash
        path = make_wav(self.tmp / f"{uuid.uuid4().hex}.wav", 2, freq=200 + 7 * self.made)
        track, position = upload_track(self.http, self.owner, (
            path.name, path.read_bytes(), "audio/wav"), folder_id)
        wait_for_track(self.http, self.owner, track["id"], position)
        return str(track["id"])

    def wait_measured(self, url: str, timeout: float = 30) -> None:
        """Until the background job has measured the item (loudness, waveform)."""
        deadline = time.monotonic() + timeout
        while not self.http.get(url, headers=self.owner.auth).json().get("has_waveform"):
            assert time.monotonic() < deadline, f"{url} was not measured in {timeout} s"
            time.sleep(0.1)

    def new_announcement(self) -> str:
        self.made += 1
        path = make_wav(self.tmp / f"{uuid.uuid4().hex}.wav", 1, freq=900 + 7 * self.made)
        response = self.http.post("/api/announcements/upload/", headers=self.owner.auth,
                                  files={"file": (path.name, path.read_bytes(), "audio/wav")},
                                  data={"title": "Closing soon"})
        assert response.status_code == 201, response.text
        ann = wait_until_done(self.http, self.owner,
                              f"/api/announcements/{response.json()['id']}/",
                              int(response.headers["X-Event-Position"]))
        return str(ann["id"])

    def new_device(self, zone_id: str | None = None) -> str:
        return str(self.post("/api/devices/register/", json={
            "device_id": f"hw-{uuid.uuid4().hex[:10]}", "name": "Speaker",
            "device_type": "speaker", "zone": zone_id or self.ids["zone"]})["id"])

    def pair(self, zone_id: str) -> tuple[str, str]:
        code = self.post(f"/api/zones/{zone_id}/pairing-code/")["code"]
        paired = self.http.post("/api/devices/pair/", json={
            "code": code, "device_id": f"hw-{uuid.uuid4().hex[:10]}", "name": "Speaker",
            "device_type": "speaker"})
        assert paired.status_code == 201, paired.text
        return str(paired.json()["device"]["id"]), str(paired.json()["token"])

    def pairing_code(self) -> str:
        return str(self.post(f"/api/zones/{self.ids['zone']}/pairing-code/")["code"])

    def new_schedule(self) -> str:
        return str(self.post("/api/schedules/", json=self.schedule_body(self.ids["zone"]))["id"])

    def schedule_body(self, zone_id: str) -> dict[str, Any]:
        return {"name": "Mornings", "type": "announcement", "mode": "timeline",
                "announcement_id": self.ids["announcement"], "start_time": "09:00:00",
                "zone_ids": [zone_id]}

    def new_client(self) -> str:
        response = self.http.post("/api/admin/clients/", headers=self.accounts["admin"].auth,
                                  json={"name": "Spare Ltd", "email": unique_email("spare")})
        assert response.status_code == 201, response.text
        return str(response.json()["id"])

    def new_user(self) -> str:
        response = self.http.post("/api/admin/users/", headers=self.accounts["admin"].auth,
                                  json={"email": unique_email("spare"), "password": PASSWORD,
                                        "name": "Spare", "role": "staff"})
        assert response.status_code == 201, response.text
        return str(response.json()["id"])

    def fresh_refresh(self, who: str = "owner") -> str:
        """A new session's refresh token: the caller's own if it is a user."""
        account = self.accounts[who] if who in USERS else self.owner
        return login(self.http, account.email, account.password).refresh

    def reset_token(self) -> str:
        """A real reset token, from the mail the reset request sends."""
        account = signup(self.http)
        assert self.http.post("/api/auth/password-reset/",
                              json={"email": account.email}).status_code == 202
        body = self.mail.wait_for(account.email)[-1].get_content()
        match = re.search(r"Reset token: (\S+)", body)
        assert match, body
        return match.group(1)


def png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), (200, 30, 30)).save(buffer, "PNG")
    return buffer.getvalue()


def build_world(http: TestClient, container: Container, tmp: Path,
                mail: MailCollector) -> World:
    world = World(http, tmp, mail)
    world.accounts["owner"] = signup(http)
    world.accounts["other_client"] = signup(http)
    world.accounts["staff"] = sync2gear_user(http, container, Role.STAFF)
    world.accounts["admin"] = sync2gear_user(http, container, Role.ADMIN)
    world.tokens = {who: account.access for who, account in world.accounts.items()}
    ids = world.ids
    assert http.patch(f"/api/admin/clients/{world.owner.client_id}/", json={
        "max_devices": 1000}, headers=world.accounts["admin"].auth).status_code == 200
    ids["zone"], ids["other_zone_of_owner"] = world.new_zone(), world.new_zone()
    ids["folder"] = world.new_folder()
    ids["track"] = world.new_track(ids["folder"])
    ids["announcement"] = world.new_announcement()
    world.wait_measured(f"/api/music/files/{ids['track']}/")  # so both have waveforms
    world.wait_measured(f"/api/announcements/{ids['announcement']}/")
    ids["schedule"] = world.new_schedule()
    other = world.accounts["other_client"]
    ids["other_client_zone"] = str(http.post("/api/zones/", json={"name": "Theirs"},
                                             headers=other.auth).json()["id"])
    ids["zone_device"], world.tokens["zone_device"] = world.pair(ids["zone"])
    _, world.tokens["other_zone_device"] = world.pair(ids["other_zone_of_owner"])
    ended = login(http, world.owner.email)
    assert http.post("/api/auth/logout/", json={"refresh": ended.refresh}).status_code == 200
    world.tokens["revoked"] = ended.access
    track = http.get(f"/api/music/files/{ids['track']}/", headers=world.owner.auth).json()
    ids["media_path"] = track["file"].split("://", 1)[1].split("/", 1)[1]
    assert http.post("/api/playback/play/", headers=world.owner.auth, json={
        "zone_id": ids["zone"], "folder_ids": [ids["folder"]]}).status_code == 200
    return world
