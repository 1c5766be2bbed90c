"""Plain uploads as the seed's clients send them: one `file`, and `title`, `artist`,
`album` and `folder` given with it, which win over the file's own tags."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests import audio_factory as make
from tests.integration.accounts_helpers import Account, assert_problem, signup
from tests.integration.library_fixtures import wait_for_track

MP3 = "audio/mpeg"


@pytest.fixture
def account(client: TestClient) -> Account:
    return signup(client)


def tagged(tmp_path: Path, name: str, **tags: str) -> tuple[str, bytes, str]:
    return (name, make.make_mp3(tmp_path / name, 1.0, **tags).read_bytes(), MP3)


def test_a_title_given_with_the_seeds_file_field_wins_over_the_files_tags(
        client: TestClient, account: Account, tmp_path: Path) -> None:
    spec = tagged(tmp_path, "tagged.mp3", title="From Tags", artist="Tag Artist",
                  album="Tag Album")
    response = client.post("/api/music/upload/", headers=account.auth, files={"file": spec},
                           data={"title": "Given Title", "artist": "Given Artist"})
    assert response.status_code == 201, response.text
    [created] = response.json()["created"]
    assert created["title"] == "Given Title" and created["artist"] == "Given Artist"
    track = wait_for_track(client, account, created["id"],
                           int(response.headers["X-Event-Position"]))
    assert track["status"] == "ready"
    assert (track["title"], track["artist"]) == ("Given Title", "Given Artist")
    assert track["album"] == "Tag Album"  # not given: the file's tag


def test_the_seeds_folder_field_puts_the_upload_in_that_folder(
        client: TestClient, account: Account, tmp_path: Path) -> None:
    folder = client.post("/api/music/folders/", headers=account.auth,
                         json={"name": "Seed"}).json()
    spec = tagged(tmp_path, "in-folder.mp3", title="In Folder")
    response = client.post("/api/music/upload/", headers=account.auth, files={"file": spec},
                           data={"folder": folder["id"], "album": "Given Album"})
    assert response.status_code == 201, response.text
    [created] = response.json()["created"]
    assert created["folder"] == folder["id"] and created["album"] == "Given Album"


def test_artist_and_album_apply_to_every_file_of_a_batch(
        client: TestClient, account: Account, tmp_path: Path) -> None:
    specs = [tagged(tmp_path, f"b{i}.mp3", title=f"Batch {i}") for i in range(2)]
    response = client.post("/api/music/upload/", headers=account.auth,
                           files=[("files", s) for s in specs], data={"album": "Live"})
    assert response.status_code == 201, response.text
    assert [t["album"] for t in response.json()["created"]] == ["Live", "Live"]


def test_a_title_for_several_files_is_refused(
        client: TestClient, account: Account, tmp_path: Path) -> None:
    specs = [tagged(tmp_path, f"t{i}.mp3", title=f"Two {i}") for i in range(2)]
    response = client.post("/api/music/upload/", headers=account.auth,
                           files=[("files", specs[0]), ("file", specs[1])],
                           data={"title": "One Title"})
    assert "one file" in assert_problem(response, 422)["detail"]


def test_an_upload_without_a_file_is_refused(client: TestClient, account: Account) -> None:
    response = client.post("/api/music/upload/", headers=account.auth, data={"title": "x"})
    assert assert_problem(response, 422)["status"] == 422
