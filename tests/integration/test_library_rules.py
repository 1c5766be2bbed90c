"""The library's and announcements' commands go through the one dispatcher: each
route names its rule, every caller gets what that rule says, and a refused
upload or cover is never staged or stored."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path
from typing import Any
from uuid import UUID

import httpx
import pytest
from fastapi.testclient import TestClient

from application.authz import Caller, PermissionDenied, Principal, Unauthenticated
from application.commands import library as library_commands
from domain.accounts import Role
from domain.base import NotFound
from infra.bootstrap import Container
from tests import audio_factory as make
from tests.integration.accounts_helpers import Account, signup
from tests.integration.admin_helpers import sync2gear_user
from tests.integration.library_fixtures import stored_files

MP3, PNG = "audio/mpeg", "image/png"
CLIENT_CREATES = {("post", "/api/music/folders/"), ("post", "/api/music/upload/"),
                  ("post", "/api/announcements/tts/"), ("post", "/api/announcements/upload/"),
                  ("post", "/api/music/uploads/"), ("post", "/api/announcements/uploads/")}
# tus's OPTIONS says which protocol versions and extensions the server has: anyone may ask
PUBLIC = {("options", "/api/music/uploads/"), ("options", "/api/announcements/uploads/")}


def test_every_music_and_announcement_operation_names_the_rule_it_enforces(
        client: TestClient) -> None:
    paths = client.get("/api/openapi.json").json()["paths"]
    found, expected = {}, {}
    for path, operations in paths.items():
        if not path.startswith(("/api/music/", "/api/announcements/")):
            continue
        for method, operation in operations.items():
            found[method, path] = operation.get("x-authorization")
            expected[method, path] = ("tenant-read" if method == "get" else
                                      "public" if (method, path) in PUBLIC else
                                      "client-member" if (method, path) in CLIENT_CREATES
                                      else "tenant-write")
    assert len(found) == 33  # 21, 2 waveforms, 2 x 5 of resumable uploads
    assert found == expected


@dataclass
class Library:
    """One client's library (a folder of each kind, a track, an announcement, a
    zone), and everyone else who might try to change it."""

    owner: Account
    other: Account
    staff: Account
    admin: Account
    device: dict[str, str]
    folder: str
    announcement_folder: str
    track: str
    announcement: str
    zone: str
    other_zone: str


def created(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code in (200, 201), response.text
    body: dict[str, Any] = response.json()
    return body


def zone_of(client: TestClient, account: Account) -> str:
    return str(created(client.post("/api/zones/", headers=account.auth,
                                   json={"name": "Floor"}))["id"])


@pytest.fixture(scope="module")
def library(client: TestClient, container: Container,
            tmp_path_factory: pytest.TempPathFactory) -> Library:
    owner, other = signup(client), signup(client)
    auth = owner.auth
    folder = created(client.post("/api/music/folders/", headers=auth, json={"name": "Day"}))
    ann_folder = created(client.post("/api/music/folders/", headers=auth, json={
        "name": "Notices", "type": "announcement"}))
    track = created(client.post("/api/music/upload/", headers=auth, data={
        "folder_id": folder["id"]}, files=[("files", ("a.mp3", make.mp3_bytes(1), MP3))]))
    wav = make.make_wav(tmp_path_factory.mktemp("rules") / "n.wav", 1, freq=600)
    ann = created(client.post("/api/announcements/upload/", headers=auth, files={
        "file": ("n.wav", wav.read_bytes(), "audio/wav")}))
    zone = zone_of(client, owner)
    code = created(client.post(f"/api/zones/{zone}/pairing-code/", headers=auth))["code"]
    token = created(client.post("/api/devices/pair/", json={
        "code": code, "device_id": f"hw-{uuid.uuid4().hex[:8]}", "name": "Spk",
        "device_type": "speaker"}))["token"]
    return Library(owner, other, sync2gear_user(client, container, Role.STAFF),
                   sync2gear_user(client, container, Role.ADMIN),
                   {"Authorization": f"Bearer {token}"}, folder["id"], ann_folder["id"],
                   track["created"][0]["id"], ann["id"], zone, zone_of(client, other))


Request = Callable[[TestClient, Library, dict[str, str]], httpx.Response]


def commands() -> dict[str, Request]:
    """Every command route, aimed at the owner's objects (deletions last)."""
    def png() -> Any:
        return {"file": ("c.png", make.make_png(), PNG)}

    return {
        "create folder": lambda c, x, h: c.post("/api/music/folders/", headers=h,
                                                json={"name": "Mine"}),
        "rename folder": lambda c, x, h: c.patch(f"/api/music/folders/{x.folder}/", headers=h,
                                                 json={"name": "Renamed"}),
        "reorder folder": lambda c, x, h: c.post(f"/api/music/folders/{x.folder}/reorder/",
                                                 headers=h, json={"track_ids": [x.track]}),
        "folder cover": lambda c, x, h: c.post(f"/api/music/folders/{x.folder}/cover/",
                                               headers=h, files=png()),
        "upload music": lambda c, x, h: c.post(
            "/api/music/upload/", headers=h, data={"folder_id": x.folder},
            files=[("files", (f"{uuid.uuid4().hex}.mp3", make.mp3_bytes(1, freq=523), MP3))]),
        "edit track": lambda c, x, h: c.patch(f"/api/music/files/{x.track}/", headers=h,
                                              json={"title": "Edited"}),
        "track cover": lambda c, x, h: c.post(f"/api/music/files/{x.track}/cover/", headers=h,
                                              files=png()),
        "speak": lambda c, x, h: c.post("/api/announcements/tts/", headers=h, json={
            "text": "Closing soon", "folder": x.announcement_folder}),
        "upload announcement": lambda c, x, h: c.post(
            "/api/announcements/upload/", headers=h, data={"folder": x.announcement_folder},
            files={"file": ("a.mp3", make.mp3_bytes(1, freq=587), MP3)}),
        "edit announcement": lambda c, x, h: c.patch(f"/api/announcements/{x.announcement}/",
                                                     headers=h, json={"title": "Renamed"}),
        "play now": lambda c, x, h: c.post(
            f"/api/announcements/{x.announcement}/play-instant/", headers=h,
            json={"zone_ids": [x.zone]}),
        "delete track": lambda c, x, h: c.delete(f"/api/music/files/{x.track}/", headers=h),
        "delete folder": lambda c, x, h: c.delete(f"/api/music/folders/{x.folder}/", headers=h),
        "delete announcement": lambda c, x, h: c.delete(
            f"/api/announcements/{x.announcement}/", headers=h),
    }


CREATES = {"create folder", "upload music", "speak", "upload announcement"}


def statuses(client: TestClient, library: Library, headers: dict[str, str]) -> dict[str, int]:
    return {name: send(client, library, headers).status_code
            for name, send in commands().items()}


def test_each_caller_gets_what_the_rule_says_and_a_refused_file_is_not_stored(
        client: TestClient, container: Container, library: Library) -> None:
    x, root = library, container.settings.media_root
    kept = stored_files(root, x.owner.client_id)
    refused = {name: 401 for name in commands()}
    assert statuses(client, x, {}) == refused
    refused = {name: 403 for name in commands()}
    assert statuses(client, x, x.device) == refused  # a device token changes no library
    assert statuses(client, x, x.staff.auth) == refused  # staff read only
    # Another client only creates in its own library; the owner's objects look absent.
    assert statuses(client, x, x.other.auth) == {
        name: 201 if name == "create folder" else 404 for name in commands()}
    assert stored_files(root, x.owner.client_id) == kept
    assert stored_files(root, x.other.client_id) == set()
    # Admins change any client's objects, but only a client's users add to its library.
    assert statuses(client, x, x.admin.auth) == {
        name: 403 if name in CREATES else 204 if name.startswith("delete") else 200
        for name in commands()}


class ReadCounting(BytesIO):
    """A received file that counts how often it is read."""

    def __init__(self, data: bytes) -> None:
        super().__init__(data)
        self.reads = 0

    def read(self, size: int | None = -1) -> bytes:
        self.reads += 1
        return super().read(size)


@dataclass(frozen=True)
class Received:
    filename: str
    file: ReadCounting


def test_an_upload_handed_to_the_dispatcher_is_authorized_before_its_file_is_read(
        client: TestClient, container: Container) -> None:
    owner, other = signup(client), signup(client)
    folder = created(client.post("/api/music/folders/", headers=owner.auth,
                                 json={"name": "Day"}))["id"]

    def upload(caller: Caller, received: Received, folder_id: str | None = folder) -> Any:
        command = library_commands.UploadTracks(
            (received,), UUID(folder_id) if folder_id else None)
        return container.dispatcher.dispatch(caller, command, "test")

    def received() -> Received:
        return Received("a.mp3", ReadCounting(make.mp3_bytes(1, freq=659)))

    staff = Principal(uuid.uuid4(), Role.STAFF, None)
    stranger = Principal(UUID(other.user_id), Role.CLIENT, UUID(other.client_id))
    attempts = [(staff, folder, PermissionDenied), (stranger, folder, NotFound),
                (None, None, Unauthenticated), (staff, None, PermissionDenied)]
    for caller, folder_id, refusal in attempts:
        refused = received()
        with pytest.raises(refusal):
            upload(caller, refused, folder_id)
        assert refused.file.reads == 0  # refused before anything was staged
    accepted = received()
    report = upload(Principal(UUID(owner.user_id), Role.CLIENT, UUID(owner.client_id)),
                    accepted)
    assert accepted.file.reads > 0 and len(report.created) == 1
    assert len(stored_files(container.settings.media_root, owner.client_id)) == 1


def test_play_now_interrupts_only_zones_of_the_announcements_client(
        client: TestClient, container: Container, library: Library, tmp_path: Path) -> None:
    x = library
    ann = created(client.post("/api/announcements/upload/", headers=x.owner.auth, files={
        "file": ("b.wav", make.make_wav(tmp_path / "b.wav", 1, freq=700).read_bytes(),
                 "audio/wav")}))["id"]
    before = {z: container.playback.get_zone(UUID(z)).version for z in (x.zone, x.other_zone)}
    for who in (x.owner, x.admin):
        response = client.post(f"/api/announcements/{ann}/play-instant/", headers=who.auth,
                               json={"zone_ids": [x.zone, x.other_zone]})
        assert response.status_code == 404, response.text
    after = {z: container.playback.get_zone(UUID(z)).version for z in (x.zone, x.other_zone)}
    assert after == before  # all zones or none
    played = client.post(f"/api/announcements/{ann}/play-instant/", headers=x.owner.auth,
                         json={"zone_ids": [x.zone]})
    assert played.status_code == 200, played.text
    assert container.playback.get_zone(UUID(x.zone)).version > before[x.zone]
