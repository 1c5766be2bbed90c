"""The seed's remaining fields: user avatars, `created_by` on folders and schedules,
schedule `content_type`, and system folders (`is_system`) that clients cannot delete."""

from __future__ import annotations

import json
import uuid
from io import BytesIO
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from eventsourcing.application import Application
from eventsourcing.persistence import StoredEvent
from fastapi.testclient import TestClient
from PIL import Image

from domain.accounts import Role
from infra.bootstrap import Container
from tests import audio_factory as make
from tests.integration.accounts_helpers import Account, assert_problem, signup
from tests.integration.admin_helpers import position, sync2gear_user
from tests.integration.library_fixtures import fetch
from tests.integration.schedule_fixtures import Venue, make_venue

AVATAR = "/api/auth/me/avatar/"


@pytest.fixture
def account(client: TestClient) -> Account:
    return signup(client)


@pytest.fixture(scope="module")
def venue(client: TestClient, tmp_path_factory: pytest.TempPathFactory) -> Venue:
    return make_venue(client, tmp_path_factory.mktemp("seed-venue"))


def _avatar_files(container: Container, user_id: str) -> set[str]:
    folder = container.settings.media_root / "users" / user_id
    return {p.name for p in folder.iterdir()} if folder.exists() else set()


def _upload(client: TestClient, account: Account, name: str, data: bytes,
            content_type: str = "image/png") -> Any:
    return client.post(AVATAR, headers=account.auth,
                       files={"avatar": (name, data, content_type)})


# -- avatars ---------------------------------------------------------------------------


def test_an_avatar_is_stored_with_a_thumbnail_and_shown_as_signed_urls(
        client: TestClient, container: Container, account: Account) -> None:
    png = make.make_png((640, 480))

    response = _upload(client, account, "me.png", png)

    assert response.status_code == 200, response.text
    user = response.json()
    avatar = fetch(client, user["avatar_url"])
    assert (avatar.status_code, avatar.headers["content-type"]) == (200, "image/png")
    assert avatar.content == png
    thumb = fetch(client, user["avatar_thumbnail_url"])
    assert thumb.headers["content-type"] == "image/jpeg"
    assert Image.open(BytesIO(thumb.content)).size == (300, 225)
    me = client.get("/api/auth/me/", headers=account.waiting(position(response))).json()
    assert fetch(client, me["avatar_url"]).content == png
    assert _avatar_files(container, account.user_id) == {"avatar.png", "avatar-thumb.jpg"}


def test_a_new_avatar_replaces_the_old_one_and_deleting_removes_it(
        client: TestClient, container: Container, account: Account) -> None:
    assert _upload(client, account, "a.png", make.make_png()).status_code == 200
    jpeg = make.make_jpeg((120, 120))

    replaced = _upload(client, account, "b.jpg", jpeg, "image/jpeg")

    assert replaced.status_code == 200, replaced.text
    assert fetch(client, replaced.json()["avatar_url"]).content == jpeg
    assert _avatar_files(container, account.user_id) == {"avatar.jpeg", "avatar-thumb.jpg"}
    removed = client.delete(AVATAR, headers=account.auth)
    assert removed.status_code == 204, removed.text
    me = client.get("/api/auth/me/", headers=account.waiting(position(removed))).json()
    assert (me["avatar_url"], me["avatar_thumbnail_url"]) == (None, None)
    assert _avatar_files(container, account.user_id) == set()
    again = client.delete(AVATAR, headers=account.auth)  # nothing to remove: still fine
    assert again.status_code == 204 and "X-Event-Position" not in again.headers


def test_a_bad_or_oversized_avatar_is_refused_as_a_problem_and_changes_nothing(
        client: TestClient, container: Container, account: Account, tmp_path: Path) -> None:
    garbage = make.random_bytes_file(tmp_path / "g.png").read_bytes()
    for name, data in (("g.png", garbage), ("song.png", make.mp3_bytes(0.5)),
                       ("t.png", b"hi")):
        bad = _upload(client, account, name, data)
        assert bad.status_code in (415, 422), bad.text
        assert_problem(bad, bad.status_code)
    assert_problem(_upload(client, account, "e.png", b""), 422)
    too_big = b"\x89PNG" + bytes(container.settings.max_image_mb * 1024 * 1024)
    assert_problem(_upload(client, account, "big.png", too_big), 413)
    me = client.get("/api/auth/me/", headers=account.auth).json()
    assert me["avatar_url"] is None
    assert _avatar_files(container, account.user_id) == set()


def test_an_avatar_is_its_users_own_and_admins_see_it(
        client: TestClient, container: Container, account: Account) -> None:
    other = signup(client)
    png = make.make_png((50, 50))
    response = _upload(client, account, "me.png", png)
    assert response.status_code == 200, response.text
    assert client.post(AVATAR, files={"avatar": ("x.png", png, "image/png")}).status_code == 401

    theirs = client.get("/api/auth/me/", headers=other.waiting(position(response))).json()
    admin = sync2gear_user(client, container, Role.ADMIN)
    seen = client.get(f"/api/admin/users/{account.user_id}/", headers=admin.auth).json()

    assert theirs["avatar_url"] is None
    assert fetch(client, seen["avatar_url"]).content == png
    listed = client.get(f"/api/users/{account.user_id}/", headers=account.auth).json()
    assert fetch(client, listed["avatar_thumbnail_url"]).status_code == 200


# -- created_by and content_type -------------------------------------------------------


def test_a_folder_records_the_user_who_created_it(client: TestClient,
                                                  account: Account) -> None:
    response = client.post("/api/music/folders/", json={"name": "Lunch"}, headers=account.auth)

    assert response.status_code == 201, response.text
    assert (response.json()["created_by"], response.json()["is_system"]) == (
        account.user_id, False)
    folder_id = response.json()["id"]
    got = client.get(f"/api/music/folders/{folder_id}/",
                     headers=account.waiting(position(response))).json()
    assert (got["created_by"], got["is_system"]) == (account.user_id, False)


def _music_schedule(venue: Venue, **extra: Any) -> dict[str, Any]:
    return {"name": f"Music {uuid.uuid4().hex[:6]}", "type": "music",
            "folder_ids": [venue.folders["Day"]], "start_time": "09:00:00",
            "end_time": "17:00:00", "zone_ids": [venue.zone_id], **extra}


def test_a_schedule_records_its_creator_and_shows_the_seeds_content_type(
        client: TestClient, venue: Venue) -> None:
    account = venue.account

    response = client.post("/api/schedules/", json=_music_schedule(venue),
                           headers=account.auth)

    assert response.status_code == 201, response.text
    made = response.json()
    assert (made["created_by"], made["content_type"]) == (account.user_id, "folder")
    got = client.get(f"/api/schedules/{made['id']}/",
                     headers=account.waiting(position(response))).json()
    assert (got["created_by"], got["content_type"]) == (account.user_id, "folder")
    announcement = client.post("/api/schedules/", headers=account.auth, json={
        "name": "Every hour", "type": "announcement", "content_type": "announcement",
        "mode": "interval", "interval_type": "time", "interval_minutes": 60,
        "announcement_id": venue.announcement_id, "zone_ids": [venue.zone_id]})
    assert announcement.status_code == 201, announcement.text
    assert announcement.json()["content_type"] == "announcement"


def test_a_content_type_that_contradicts_the_type_is_refused(client: TestClient,
                                                             venue: Venue) -> None:
    response = client.post("/api/schedules/", headers=venue.account.auth,
                           json=_music_schedule(venue, content_type="announcement"))

    problem = assert_problem(response, 422)
    assert "content_type" in problem["detail"]
    right = client.post("/api/schedules/", headers=venue.account.auth,
                        json=_music_schedule(venue, content_type="folder"))
    assert right.status_code == 201, right.text


def _as_version_1(app: Application[UUID], created: StoredEvent, *dropped: str) -> int:
    """Store a copy of a Created event as the release before wrote it (without the
    `dropped` fields and the class_version) under a new id; its notification id."""
    state = json.loads(created.state)
    for name in (*dropped, "class_version"):
        state.pop(name)
    old = StoredEvent(originator_id=uuid.uuid4(), originator_version=1, topic=created.topic,
                      state=json.dumps(state).encode())
    ids = app.recorder.insert_events([old])
    assert ids
    return ids[0]


def _created(app: Application[UUID], aggregate_id: str) -> StoredEvent:
    (first,) = app.recorder.select_events(UUID(aggregate_id), limit=1)
    assert json.loads(first.state)["class_version"] == 2
    return first


def test_folders_and_schedules_stored_before_created_by_load_through_their_upcasts(
        client: TestClient, container: Container, venue: Venue) -> None:
    account = venue.account
    made = client.post("/api/music/folders/", json={"name": "Old"}, headers=account.auth)
    folder_event = _created(container.library, made.json()["id"])
    at = _as_version_1(container.library, folder_event, "created_by", "is_system")
    schedule = client.post("/api/schedules/", json=_music_schedule(venue), headers=account.auth)
    schedule_event = _created(container.scheduling, schedule.json()["id"])
    at_schedule = _as_version_1(container.scheduling, schedule_event, "created_by")
    folder_id = [e.originator_id for e in container.library.recorder.select_notifications(
        at, 1)][0]
    schedule_id = [e.originator_id for e in container.scheduling.recorder.select_notifications(
        at_schedule, 1)][0]

    folder = container.library.get_folder(folder_id)
    old_schedule = container.scheduling.get_schedule(schedule_id)

    # The old event's own stamp names the user who caused it.
    assert (folder.created_by, folder.is_system) == (UUID(account.user_id), False)
    assert old_schedule.created_by == UUID(account.user_id)
    row = client.get(f"/api/music/folders/{folder_id}/", headers=account.waiting(at)).json()
    assert (row["name"], row["created_by"], row["is_system"]) == ("Old", account.user_id,
                                                                  False)
    renamed = client.patch(f"/api/music/folders/{folder_id}/", json={"name": "Older"},
                           headers=account.auth)
    assert (renamed.status_code, renamed.json()["created_by"]) == (200, account.user_id)


# -- system folders --------------------------------------------------------------------


def test_an_admins_system_folder_cannot_be_deleted_by_the_clients_users(
        client: TestClient, container: Container, account: Account) -> None:
    admin = sync2gear_user(client, container, Role.ADMIN)
    made = client.post("/api/music/folders/", headers=admin.auth, json={
        "name": "Announcements", "type": "announcement", "is_system": True,
        "client": account.client_id})
    assert made.status_code == 201, made.text
    folder = made.json()
    assert (folder["is_system"], folder["client"], folder["created_by"]) == (
        True, account.client_id, admin.user_id)
    url = f"/api/music/folders/{folder['id']}/"

    refused = client.delete(url, headers=account.auth)

    assert "system folder" in assert_problem(refused, 403)["detail"]
    listed = client.get("/api/music/folders/", headers=account.waiting(position(made))).json()
    assert [f["is_system"] for f in listed["results"] if f["id"] == folder["id"]] == [True]
    renamed = client.patch(url, json={"name": "Our announcements"}, headers=account.auth)
    assert renamed.status_code == 200 and renamed.json()["is_system"] is True
    assert client.delete(url, headers=admin.auth).status_code == 204


def test_only_an_admin_creates_a_system_folder(client: TestClient, container: Container,
                                               account: Account) -> None:
    refused = client.post("/api/music/folders/", headers=account.auth,
                          json={"name": "Mine", "is_system": True})
    assert_problem(refused, 403)
    admin = sync2gear_user(client, container, Role.ADMIN)
    assert_problem(client.post("/api/music/folders/", headers=admin.auth,
                               json={"name": "Whose?", "is_system": True}), 400)
    assert_problem(client.post("/api/music/folders/", headers=admin.auth, json={
        "name": "Nobody's", "is_system": True, "client": str(uuid.uuid4())}), 404)
    ordinary = client.post("/api/music/folders/", headers=account.auth, json={"name": "Plain"})
    assert client.delete(f"/api/music/folders/{ordinary.json()['id']}/",
                         headers=account.auth).status_code == 204
