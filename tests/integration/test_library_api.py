"""The music library through HTTP: real audio files, the real event store, read model,
background metadata extraction (in-process dramatiq worker) and local blob storage."""

from __future__ import annotations

import hashlib
import threading
import uuid
from collections.abc import Callable
from io import BytesIO
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from fastapi.testclient import TestClient
from PIL import Image

from application.library import StoredUpload
from domain.base import Actor, CommandContext
from domain.library import MUSIC_FORMATS, DuplicateMedia, StorageQuotaExceeded
from domain.quota import GB
from infra.bootstrap import Container
from infra.settings import Settings
from tests import audio_factory as make
from tests.integration.accounts_helpers import Account, assert_problem, signup
from tests.integration.library_fixtures import (
    FileSpec,
    fetch,
    listed_ids,
    stored_files,
    upload_music,
    upload_track,
    used_bytes,
    wait_for_track,
)

CTX = CommandContext(Actor.system("test"), "t")
MP3 = "audio/mpeg"


@pytest.fixture
def account(client: TestClient) -> Account:
    return signup(client)


@pytest.fixture
def other(client: TestClient) -> Account:
    return signup(client)


@pytest.fixture(scope="module")
def audio_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("audio")


def tone(seconds: float = 1.0, freq: float = 440) -> bytes:
    """An untagged MP3; each frequency gives different content."""
    return make.mp3_bytes(seconds, freq=freq)


def song(name: str, seconds: float = 1.0, freq: float = 440) -> FileSpec:
    return (name, tone(seconds, freq), MP3)


def tagged_mp3(folder: Path, seconds: float = 1.0, **tags: Any) -> bytes:
    path = folder / f"{uuid.uuid4().hex}.mp3"
    return make.make_mp3(path, seconds, **tags).read_bytes()


def ids(rows: list[dict[str, Any]]) -> list[str]:
    return [row["id"] for row in rows]


def track_count(client: TestClient, account: Account, position: int | None = None) -> int:
    headers = account.waiting(position) if position else account.auth
    response = client.get("/api/music/files/", headers=headers)
    assert response.status_code == 200, response.text
    count: int = response.json()["count"]
    return count


# -- upload and metadata ---------------------------------------------------------


def test_an_uploaded_mp3_gets_its_tags_cover_and_duration_read_in_the_background(
    client: TestClient, container: Container, account: Account, audio_dir: Path
) -> None:
    cover = make.make_png((400, 200))
    data = tagged_mp3(audio_dir, 2.0, title="Morning Light", artist="The Sine Waves",
                      album="Test Signals", genre="Ambient", year=2021, cover=cover)

    response = upload_music(client, account, ("morning.mp3", data, MP3))

    assert response.status_code == 201, response.text
    body = response.json()
    assert (body["duplicates"], body["rejected"]) == ([], [])
    [created] = body["created"]
    assert created["status"] == "processing"
    assert created["filename"] == "morning.mp3"
    assert created["file_size"] == len(data)
    assert (created["format"], created["content_type"]) == ("mp3", MP3)
    assert created["client"] == account.client_id
    assert created["folder"] is None

    track = wait_for_track(client, account, created["id"],
                           int(response.headers["X-Event-Position"]))

    assert track["status"] == "ready", track
    assert track["failure_reason"] is None
    assert (track["title"], track["artist"], track["album"]) == (
        "Morning Light", "The Sine Waves", "Test Signals")
    assert (track["genre"], track["year"]) == ("Ambient", 2021)
    assert track["duration"] == pytest.approx(2.0, abs=0.2)
    assert used_bytes(container, account) == len(data)

    art = fetch(client, track["cover_art"])
    assert art.status_code == 200
    assert art.headers["content-type"] == "image/png"
    assert art.content == cover

    thumb = fetch(client, track["cover_thumbnail"])
    assert thumb.status_code == 200
    assert thumb.headers["content-type"] == "image/jpeg"
    image = Image.open(BytesIO(thumb.content))
    assert image.format == "JPEG"
    assert max(image.size) <= 300

    audio = fetch(client, track["file"])
    assert audio.status_code == 200
    assert audio.headers["content-type"] == MP3
    assert audio.content == data

    part = fetch(client, track["file"], Range="bytes=0-99")
    assert part.status_code == 206
    assert part.content == data[:100]
    assert part.headers["content-range"] == f"bytes 0-99/{len(data)}"


def test_formats_are_recognised_by_content_whatever_the_file_is_called(
    client: TestClient, account: Account, audio_dir: Path
) -> None:
    made: dict[str, Callable[[Path, float], Path]] = {
        "m4a": make.make_m4a, "aac": make.make_aac, "opus": make.make_ogg_opus,
        "ogg": make.make_ogg_vorbis, "flac": make.make_flac, "wav": make.make_wav,
    }
    misleading = {"m4a": "a.mp3", "aac": "b.wav", "opus": "c.flac", "ogg": "d.m4a",
                  "flac": "e.ogg", "wav": "f.aac"}
    files = [(misleading[fmt], build(audio_dir / f"x.{fmt}", 1.5).read_bytes(),
              "application/octet-stream") for fmt, build in made.items()]

    response = upload_music(client, account, *files)

    assert response.status_code == 201, response.text
    created = response.json()["created"]
    position = int(response.headers["X-Event-Position"])
    assert [t["filename"] for t in created] == [name for name, _, _ in files]
    assert [t["format"] for t in created] == list(made)
    assert set(made) <= MUSIC_FORMATS
    for row in created:
        track = wait_for_track(client, account, row["id"], position)
        assert track["status"] == "ready", track
        assert track["duration"] == pytest.approx(1.5, abs=0.2), track["format"]
        assert track["title"] == row["filename"].rsplit(".", 1)[0]  # untagged: the name


# -- bad files -------------------------------------------------------------------

BAD_FILES: dict[str, tuple[Callable[[Path], bytes], int | None]] = {
    "random bytes named .mp3": (lambda d: make.random_bytes_file(d / "r.bin").read_bytes(),
                                415),
    "truncated mp3": (lambda d: make.truncated_mp3(d / "t.mp3").read_bytes(), None),
    "zero bytes": (lambda d: b"", 422),
    "a PNG named .mp3": (lambda d: make.make_png(), 415),
}


@pytest.mark.parametrize("case", list(BAD_FILES))
def test_a_bad_file_is_refused_with_a_problem_and_nothing_is_stored(
    client: TestClient, container: Container, settings: Settings, account: Account,
    audio_dir: Path, case: str
) -> None:
    _, position = upload_track(client, account, song("good.mp3"))
    before_files = stored_files(settings.media_root, account.client_id)
    before_bytes = used_bytes(container, account)
    build, expected = BAD_FILES[case]

    response = upload_music(client, account, ("song.mp3", build(audio_dir), MP3))

    problem = assert_problem(response, expected or response.status_code)
    assert 400 <= response.status_code < 500
    assert problem["errors"][0]["filename"] == "song.mp3"
    assert track_count(client, account, position) == 1
    assert stored_files(settings.media_root, account.client_id) == before_files
    assert used_bytes(container, account) == before_bytes


def test_a_truncated_mp3_is_invalid_media(client: TestClient, account: Account,
                                          audio_dir: Path) -> None:
    data = make.truncated_mp3(audio_dir / "cut.mp3").read_bytes()

    response = upload_music(client, account, ("cut.mp3", data, MP3))

    problem = assert_problem(response, 422)
    assert "truncated" in problem["detail"] or "damaged" in problem["detail"]


def test_an_upload_over_the_size_limit_is_413_and_nothing_is_stored(
    client: TestClient, container: Container, settings: Settings, account: Account,
    audio_dir: Path, make_app: Any
) -> None:
    small, big_client = make_app(max_upload_mb=1)
    big = make.make_wav(audio_dir / "big.wav", 13.0).read_bytes()  # ~1.1 MB
    assert len(big) > 1024 * 1024

    response = upload_music(big_client, account, ("big.wav", big, "audio/wav"))

    problem = assert_problem(response, 413)
    assert "1 MB" in problem["detail"]
    assert stored_files(small.settings.media_root, account.client_id) == set()
    assert stored_files(settings.media_root, account.client_id) == set()
    assert used_bytes(container, account) == 0
    assert track_count(client, account) == 0


def test_a_batch_with_one_bad_file_creates_the_others(
    client: TestClient, container: Container, account: Account, audio_dir: Path
) -> None:
    one, two = song("one.mp3", freq=330), song("two.mp3", freq=550)
    noise = ("three.mp3", make.random_bytes_file(audio_dir / "n.bin").read_bytes(), MP3)

    response = upload_music(client, account, one, noise, two)

    assert response.status_code == 201, response.text
    body = response.json()
    assert [t["filename"] for t in body["created"]] == ["one.mp3", "two.mp3"]
    assert body["duplicates"] == []
    [rejected] = body["rejected"]
    assert (rejected["filename"], rejected["status"]) == ("three.mp3", 415)
    assert rejected["detail"]
    position = int(response.headers["X-Event-Position"])
    assert track_count(client, account, position) == 2
    assert used_bytes(container, account) == len(one[1]) + len(two[1])


def test_the_same_content_is_reported_as_a_duplicate_and_not_stored_twice(
    client: TestClient, container: Container, settings: Settings, account: Account
) -> None:
    original = song("original.mp3", freq=600)
    first, _ = upload_track(client, account, original)
    data = original[1]

    alone = upload_music(client, account, ("copy.mp3", data, MP3))
    problem = assert_problem(alone, 409)
    assert problem["errors"][0]["existing_id"] == first["id"]

    fresh = song("fresh.mp3", freq=700)
    mixed = upload_music(client, account, ("another name.mp3", data, MP3), fresh)
    assert mixed.status_code == 201, mixed.text
    body = mixed.json()
    assert [t["filename"] for t in body["created"]] == ["fresh.mp3"]
    [duplicate] = body["duplicates"]
    assert duplicate["filename"] == "another name.mp3"
    assert duplicate["existing_id"] == first["id"]
    assert duplicate["status"] == 409
    position = int(mixed.headers["X-Event-Position"])
    assert track_count(client, account, position) == 2
    assert used_bytes(container, account) == len(data) + len(fresh[1])
    assert len(stored_files(settings.media_root, account.client_id)) == 2

    deleted = client.delete(f"/api/music/files/{first['id']}/", headers=account.auth)
    assert deleted.status_code == 204, deleted.text
    again, _ = upload_track(client, account, ("back again.mp3", data, MP3))
    assert again["id"] != first["id"]
    assert used_bytes(container, account) == len(data) + len(fresh[1])


# -- quota ---------------------------------------------------------------------


def test_two_uploads_racing_for_the_last_free_bytes_cannot_both_win(
    container: Container, account: Account, audio_dir: Path
) -> None:
    client_id = UUID(account.client_id)
    uploads = []
    for freq in (300, 900):
        data = tone(1.0, freq)
        path = audio_dir / f"race-{freq}-{uuid.uuid4().hex}.mp3"
        path.write_bytes(data)
        probe = container.inspector.probe(path, MUSIC_FORMATS)
        key = f"clients/{client_id}/tracks/race-{uuid.uuid4().hex}.mp3"
        container.storage.put_bytes(key, data, probe.content_type)
        uploads.append(StoredUpload(path.name, len(data), hashlib.sha256(data).hexdigest(),
                                    key, probe))
    limit = max(u.file_size for u in uploads)  # either fits alone, not both
    barrier = threading.Barrier(2)
    outcomes: list[Any] = [None, None]

    def add(index: int) -> None:
        barrier.wait()
        try:
            outcomes[index] = container.library.add_track(
                CTX, client_id, uuid.uuid4(), uploads[index], folder_id=None,
                limit_bytes=limit)
        except Exception as e:
            outcomes[index] = e

    threads = [threading.Thread(target=add, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    won = [i for i, o in enumerate(outcomes) if isinstance(o, tuple)]
    lost = [o for o in outcomes if isinstance(o, Exception)]
    assert len(won) == 1, outcomes
    assert len(lost) == 1 and isinstance(lost[0], StorageQuotaExceeded), outcomes
    assert container.library.used_bytes(client_id) == uploads[won[0]].file_size


def test_the_same_content_uploaded_twice_at_once_is_stored_once(
    container: Container, account: Account, audio_dir: Path
) -> None:
    client_id = UUID(account.client_id)
    data = tone(1.0, 1200)
    path = audio_dir / f"same-{uuid.uuid4().hex}.mp3"
    path.write_bytes(data)
    probe = container.inspector.probe(path, MUSIC_FORMATS)
    uploads = []
    for name in ("one.mp3", "two.mp3"):
        key = f"clients/{client_id}/tracks/same-{uuid.uuid4().hex}.mp3"
        container.storage.put_bytes(key, data, probe.content_type)
        uploads.append(StoredUpload(name, len(data), hashlib.sha256(data).hexdigest(), key,
                                    probe))
    barrier = threading.Barrier(2)
    outcomes: list[Any] = [None, None]

    def add(index: int) -> None:
        barrier.wait()
        try:
            outcomes[index] = container.library.add_track(
                CTX, client_id, uuid.uuid4(), uploads[index], folder_id=None,
                limit_bytes=10 * GB)
        except Exception as e:
            outcomes[index] = e

    threads = [threading.Thread(target=add, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    won = [o for o in outcomes if isinstance(o, tuple)]
    lost = [o for o in outcomes if isinstance(o, Exception)]
    assert len(won) == 1 and len(lost) == 1, outcomes
    assert isinstance(lost[0], DuplicateMedia), outcomes
    assert lost[0].existing_id == str(won[0][0].id)
    assert container.library.used_bytes(client_id) == len(data)
    assert container.library.content_owner(client_id, "track", uploads[0].sha256) == won[0][0].id


def test_an_upload_over_the_client_quota_is_413_and_frees_nothing(
    client: TestClient, container: Container, settings: Settings, account: Account
) -> None:
    container.accounts.change_client(CTX, UUID(account.client_id), max_storage_gb=0)
    try:
        response = upload_music(client, account, song("over.mp3", freq=480))

        problem = assert_problem(response, 413)
        assert "quota" in problem["detail"]
        assert stored_files(settings.media_root, account.client_id) == set()
        assert used_bytes(container, account) == 0
        assert track_count(client, account) == 0
    finally:
        container.accounts.change_client(CTX, UUID(account.client_id), max_storage_gb=10)
    _, position = upload_track(client, account, song("fits.mp3", freq=480))
    assert track_count(client, account, position) == 1


# -- folders -------------------------------------------------------------------


def make_folder(client: TestClient, account: Account, name: str = "Lunch",
                **extra: Any) -> dict[str, Any]:
    response = client.post("/api/music/folders/", headers=account.auth,
                           json={"name": name, **extra})
    assert response.status_code == 201, response.text
    folder: dict[str, Any] = response.json()
    return folder


def test_folders_can_be_created_listed_renamed_and_deleted(
    client: TestClient, account: Account
) -> None:
    response = client.post("/api/music/folders/", headers=account.auth,
                           json={"name": "  Morning  ", "description": "calm"})
    assert response.status_code == 201, response.text
    folder = response.json()
    assert (folder["name"], folder["description"], folder["type"]) == ("Morning", "calm",
                                                                        "music")
    assert (folder["client"], folder["item_count"]) == (account.client_id, 0)
    position = int(response.headers["X-Event-Position"])

    got = client.get(f"/api/music/folders/{folder['id']}/", headers=account.waiting(position))
    assert got.status_code == 200 and got.json()["name"] == "Morning"
    assert listed_ids(client, account, "/api/music/folders/", position) == [folder["id"]]

    patched = client.patch(f"/api/music/folders/{folder['id']}/", headers=account.auth,
                           json={"name": "Evening", "description": "busier"})
    assert patched.status_code == 200, patched.text
    assert (patched.json()["name"], patched.json()["description"]) == ("Evening", "busier")
    position = int(patched.headers["X-Event-Position"])
    got = client.get(f"/api/music/folders/{folder['id']}/", headers=account.waiting(position))
    assert got.json()["name"] == "Evening"

    assert_problem(client.post("/api/music/folders/", headers=account.auth,
                               json={"name": "   "}), 422)
    assert_problem(client.patch(f"/api/music/folders/{folder['id']}/", headers=account.auth,
                                json={"name": ""}), 422)

    deleted = client.delete(f"/api/music/folders/{folder['id']}/", headers=account.auth)
    assert deleted.status_code == 204
    position = int(deleted.headers["X-Event-Position"])
    assert_problem(client.get(f"/api/music/folders/{folder['id']}/",
                              headers=account.waiting(position)), 404)
    assert listed_ids(client, account, "/api/music/folders/", position) == []
    assert_problem(client.delete(f"/api/music/folders/{folder['id']}/",
                                 headers=account.auth), 404)


def folder_order(client: TestClient, account: Account, folder_id: str,
                 position: int | None = None) -> list[str]:
    return listed_ids(client, account, f"/api/music/files/?folder={folder_id}", position)


def test_reordering_a_folder_replaces_its_order_at_once_or_not_at_all(
    client: TestClient, account: Account
) -> None:
    folder = make_folder(client, account)
    response = upload_music(client, account, song("a.mp3", freq=310), song("b.mp3", freq=320),
                            song("c.mp3", freq=330), folder_id=folder["id"])
    assert response.status_code == 201, response.text
    a, b, c = ids(response.json()["created"])
    position = int(response.headers["X-Event-Position"])
    assert folder_order(client, account, folder["id"], position) == [a, b, c]

    url = f"/api/music/folders/{folder['id']}/reorder/"
    done = client.post(url, headers=account.auth, json={"track_ids": [c, a, b]})
    assert done.status_code == 200, done.text
    assert done.json()["item_count"] == 3
    position = int(done.headers["X-Event-Position"])
    listing = client.get(f"/api/music/files/?folder={folder['id']}",
                         headers=account.waiting(position)).json()
    assert ids(listing["results"]) == [c, a, b]
    assert [t["order"] for t in listing["results"]] == sorted(
        t["order"] for t in listing["results"])

    stranger = str(uuid.uuid4())
    for bad in ([c, a], [c, a, b, b], [c, a, stranger], [c, a, b, stranger], []):
        assert_problem(client.post(url, headers=account.auth, json={"track_ids": bad}), 422)
    assert_problem(client.post(url, headers=account.auth, json={"track_ids": ["x"]}), 422)
    assert_problem(client.post(url, headers=account.auth, json={}), 422)
    assert folder_order(client, account, folder["id"]) == [c, a, b]


def test_deleting_a_folder_keeps_its_tracks_outside_any_folder(
    client: TestClient, container: Container, account: Account
) -> None:
    folder = make_folder(client, account)
    response = upload_music(client, account, song("x.mp3", freq=410), song("y.mp3", freq=420),
                            folder_id=folder["id"])
    assert response.status_code == 201, response.text
    x, y = ids(response.json()["created"])
    assert all(t["folder"] == folder["id"] for t in response.json()["created"])
    quota = used_bytes(container, account)

    deleted = client.delete(f"/api/music/folders/{folder['id']}/", headers=account.auth)
    assert deleted.status_code == 204, deleted.text
    position = int(deleted.headers["X-Event-Position"])

    for track_id in (x, y):
        track = client.get(f"/api/music/files/{track_id}/", headers=account.waiting(position))
        assert track.status_code == 200
        assert track.json()["folder"] is None
    assert sorted(listed_ids(client, account, "/api/music/files/", position)) == sorted([x, y])
    assert used_bytes(container, account) == quota
    assert_problem(upload_music(client, account, song("z.mp3", freq=430),
                                folder_id=folder["id"]), 404)
    announcements = make_folder(client, account, "Notices", type="announcement")
    refused = upload_music(client, account, song("z.mp3", freq=430),
                           folder_id=announcements["id"])
    assert_problem(refused, 422)
    assert used_bytes(container, account) == quota


def test_a_track_moves_between_folders_with_patch(client: TestClient, account: Account) -> None:
    first, second = make_folder(client, account, "First"), make_folder(client, account, "Second")
    track, _ = upload_track(client, account, song("m.mp3", freq=440), folder_id=first["id"])

    moved = client.patch(f"/api/music/files/{track['id']}/", headers=account.auth,
                         json={"folder": second["id"]})
    assert moved.status_code == 200, moved.text
    assert moved.json()["folder"] == second["id"]
    position = int(moved.headers["X-Event-Position"])
    assert folder_order(client, account, first["id"], position) == []
    assert folder_order(client, account, second["id"], position) == [track["id"]]

    out = client.patch(f"/api/music/files/{track['id']}/", headers=account.auth,
                       json={"folder": None})
    assert out.status_code == 200 and out.json()["folder"] is None
    position = int(out.headers["X-Event-Position"])
    assert folder_order(client, account, second["id"], position) == []


def test_deleting_a_track_takes_it_out_of_its_folder_and_frees_its_storage(
    client: TestClient, container: Container, settings: Settings, account: Account
) -> None:
    folder = make_folder(client, account)
    keep, _ = upload_track(client, account, song("keep.mp3", freq=510), folder_id=folder["id"])
    gone, position = upload_track(client, account, song("gone.mp3", freq=520),
                                  folder_id=folder["id"])
    gone = wait_for_track(client, account, gone["id"], position)
    assert used_bytes(container, account) == keep["file_size"] + gone["file_size"]

    deleted = client.delete(f"/api/music/files/{gone['id']}/", headers=account.auth)

    assert deleted.status_code == 204, deleted.text
    position = int(deleted.headers["X-Event-Position"])
    assert used_bytes(container, account) == keep["file_size"]
    assert folder_order(client, account, folder["id"], position) == [keep["id"]]
    got = client.get(f"/api/music/folders/{folder['id']}/", headers=account.waiting(position))
    assert got.json()["item_count"] == 1
    assert_problem(client.get(f"/api/music/files/{gone['id']}/", headers=account.auth), 404)
    assert fetch(client, gone["file"]).status_code == 404
    assert [p.name for p in stored_files(settings.media_root, account.client_id)] == [
        f"{keep['id']}.mp3"]
    assert_problem(client.delete(f"/api/music/files/{gone['id']}/", headers=account.auth), 404)
    assert search(client, account, "gone", position) == []
    assert search(client, account, "keep") == [keep["id"]]


# -- metadata edits and search ----------------------------------------------------------


def search(client: TestClient, account: Account, q: str,
           position: int | None = None) -> list[str]:
    headers = account.waiting(position) if position else account.auth
    response = client.get("/api/music/search/", params={"q": q}, headers=headers)
    assert response.status_code == 200, response.text
    return ids(response.json()["results"])


def test_edited_metadata_is_kept_and_found_by_search(client: TestClient,
                                                      account: Account) -> None:
    created, position = upload_track(client, account, song("plain.mp3", freq=610))
    wait_for_track(client, account, created["id"], position)

    response = client.patch(f"/api/music/files/{created['id']}/", headers=account.auth, json={
        "title": "Zanzibar Sunrise", "artist": "Quincy Quartz", "album": "Velvet Hours",
        "genre": "Jazz", "year": 1999})

    assert response.status_code == 200, response.text
    track = response.json()
    assert (track["title"], track["artist"], track["album"], track["genre"], track["year"]) == (
        "Zanzibar Sunrise", "Quincy Quartz", "Velvet Hours", "Jazz", 1999)
    position = int(response.headers["X-Event-Position"])
    got = client.get(f"/api/music/files/{created['id']}/", headers=account.waiting(position))
    assert got.json()["title"] == "Zanzibar Sunrise"
    for q in ("zanzi", "Quartz", "velvet", "sunrise zanz", "ZANZIBAR hours"):
        assert search(client, account, q, position) == [created["id"]], q
    for q in ("plain", "zanzibar nothing", "jazz", "(:*&|!')"):
        assert search(client, account, q) == [], q

    assert_problem(client.patch(f"/api/music/files/{created['id']}/", headers=account.auth,
                                json={"year": 99}), 422)
    assert_problem(client.patch(f"/api/music/files/{created['id']}/", headers=account.auth,
                                json={"title": "  "}), 422)
    assert_problem(client.get("/api/music/search/", params={"q": ""}, headers=account.auth),
                   422)


def test_an_edit_made_while_tags_are_read_is_not_overwritten_by_them(
    client: TestClient, container: Container, account: Account, audio_dir: Path
) -> None:
    client_id, track_id = UUID(account.client_id), uuid.uuid4()
    data = tagged_mp3(audio_dir, 1.0, title="Tag Title", artist="Tag Artist")
    path = audio_dir / f"{track_id}.mp3"
    path.write_bytes(data)
    probe = container.inspector.probe(path, MUSIC_FORMATS)
    key = f"clients/{client_id}/tracks/{track_id}.mp3"
    upload = StoredUpload("edited.mp3", len(data), hashlib.sha256(data).hexdigest(), key, probe)
    # The blob is not stored yet, so no extraction can finish before the edit.
    container.library.add_track(CTX, client_id, track_id, upload, folder_id=None,
                                limit_bytes=10 * GB)
    edited = client.patch(f"/api/music/files/{track_id}/", headers=account.auth,
                          json={"title": "My Title", "artist": "Me"})
    assert edited.status_code == 200, edited.text
    container.storage.put_bytes(key, data, probe.content_type)
    container.processor.extract_track(track_id)

    track = wait_for_track(client, account, str(track_id),
                           int(edited.headers["X-Event-Position"]))
    assert track["status"] == "ready"
    assert (track["title"], track["artist"]) == ("My Title", "Me")


# -- tenancy -------------------------------------------------------------------


def test_another_clients_library_is_invisible(client: TestClient, account: Account,
                                              other: Account) -> None:
    mine, _ = upload_track(client, account, song("mine.mp3", freq=710))
    theirs, _ = upload_track(client, other, song("theirs.mp3", freq=720))
    for who, track in ((account, mine), (other, theirs)):
        edited = client.patch(f"/api/music/files/{track['id']}/", headers=who.auth,
                              json={"title": "Shared Melody"})
        assert edited.status_code == 200, edited.text
        position = int(edited.headers["X-Event-Position"])
    their_folder = make_folder(client, other, "Private")
    their_ann = client.post("/api/announcements/tts/", headers=other.auth,
                            json={"text": "Closing soon", "language": "en-US"})
    assert their_ann.status_code == 202, their_ann.text

    assert search(client, account, "shared melody", position) == [mine["id"]]
    assert search(client, other, "shared melody", position) == [theirs["id"]]
    assert listed_ids(client, account, "/api/music/files/", position) == [mine["id"]]
    assert listed_ids(client, account, "/api/music/folders/") == []
    assert listed_ids(client, account, f"/api/music/files/?folder={their_folder['id']}") == []

    for url in (f"/api/music/files/{theirs['id']}/", f"/api/music/folders/{their_folder['id']}/",
                f"/api/announcements/{their_ann.json()['id']}/"):
        assert_problem(client.get(url, headers=account.auth), 404)
        assert_problem(client.patch(url, headers=account.auth, json={"title": "Mine now",
                                                                     "name": "Mine now"}), 404)
        assert_problem(client.delete(url, headers=account.auth), 404)
    assert_problem(client.post(f"/api/music/folders/{their_folder['id']}/reorder/",
                               headers=account.auth, json={"track_ids": []}), 404)
    assert_problem(client.post(f"/api/music/files/{theirs['id']}/cover/", headers=account.auth,
                               files={"file": ("c.png", make.make_png(), "image/png")}), 404)
    assert_problem(upload_music(client, account, song("sneak.mp3", freq=730),
                                folder_id=their_folder["id"]), 404)
    # Same content in another library is not a duplicate.
    copy, _ = upload_track(client, account, ("copy.mp3", _content_of(client, other, theirs),
                                             MP3))
    assert copy["id"] != theirs["id"]

    still = client.get(f"/api/music/files/{theirs['id']}/", headers=other.auth)
    assert still.status_code == 200 and still.json()["title"] == "Shared Melody"


def _content_of(client: TestClient, account: Account, track: dict[str, Any]) -> bytes:
    response = fetch(client, track["file"])
    assert response.status_code == 200
    return response.content


def test_the_library_needs_a_token(client: TestClient) -> None:
    for response in (client.get("/api/music/files/"), client.get("/api/music/folders/"),
                     client.post("/api/music/upload/",
                                 files={"files": ("a.mp3", b"xx", MP3)})):
        assert response.status_code == 401


# -- cover art -----------------------------------------------------------------


def test_a_cover_image_can_be_uploaded_and_garbage_is_refused(
    client: TestClient, account: Account, audio_dir: Path
) -> None:
    created, position = upload_track(client, account, song("bare.mp3", freq=810))
    track = wait_for_track(client, account, created["id"], position)
    assert (track["cover_art"], track["cover_thumbnail"]) == (None, None)
    png = make.make_png((640, 480))
    url = f"/api/music/files/{created['id']}/cover/"

    response = client.post(url, headers=account.auth,
                           files={"file": ("cover.png", png, "image/png")})

    assert response.status_code == 200, response.text
    track = response.json()
    art = fetch(client, track["cover_art"])
    assert (art.status_code, art.headers["content-type"]) == (200, "image/png")
    assert art.content == png
    thumb = fetch(client, track["cover_thumbnail"])
    assert thumb.headers["content-type"] == "image/jpeg"
    assert Image.open(BytesIO(thumb.content)).size == (300, 225)
    position = int(response.headers["X-Event-Position"])
    got = client.get(f"/api/music/files/{created['id']}/", headers=account.waiting(position))
    assert fetch(client, got.json()["cover_art"]).content == png

    garbage = make.random_bytes_file(audio_dir / "g.png").read_bytes()
    for name, data in (("g.png", garbage), ("song.jpg", tone(0.5, 820)), ("t.png", b"hi")):
        bad = client.post(url, headers=account.auth, files={"file": (name, data, "image/png")})
        assert bad.status_code in (415, 422), bad.text
        assert_problem(bad, bad.status_code)
    assert_problem(client.post(url, headers=account.auth,
                               files={"file": ("e.png", b"", "image/png")}), 422)
    after = client.get(f"/api/music/files/{created['id']}/", headers=account.auth).json()
    assert fetch(client, after["cover_art"]).content == png


# -- listing -------------------------------------------------------------------


def test_music_files_are_listed_in_pages(client: TestClient, account: Account) -> None:
    response = upload_music(client, account, *(song(f"p{i}.mp3", freq=900 + 10 * i)
                                               for i in range(3)))
    assert response.status_code == 201, response.text
    position = int(response.headers["X-Event-Position"])

    first = client.get("/api/music/files/?page_size=2", headers=account.waiting(position))

    assert first.status_code == 200
    page = first.json()
    assert set(page) == {"count", "next", "previous", "results"}
    assert (page["count"], len(page["results"]), page["previous"]) == (3, 2, None)
    assert "page=2" in page["next"]
    second = client.get(page["next"], headers=account.auth).json()
    assert (second["count"], len(second["results"]), second["next"]) == (3, 1, None)
    assert "page=1" in second["previous"]
    every = ids(page["results"]) + ids(second["results"])
    assert sorted(every) == sorted(ids(response.json()["created"]))
    assert_problem(client.get("/api/music/files/?page_size=0", headers=account.auth), 422)
