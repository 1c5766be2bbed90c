"""Announcements through HTTP: uploads, browser recordings and text to speech (espeak-ng in
the in-process worker), with the real event store, read model and local blob storage."""

from __future__ import annotations

import wave
from io import BytesIO
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from fastapi.testclient import TestClient

from domain.base import Actor, CommandContext
from infra.bootstrap import Container
from infra.settings import Settings
from tests import audio_factory as make
from tests.integration.accounts_helpers import Account, assert_problem, signup
from tests.integration.library_fixtures import (
    fetch,
    listed_ids,
    stored_files,
    used_bytes,
    wait_until_done,
)

CTX = CommandContext(Actor.system("test"), "t")
needs_espeak = pytest.mark.skipif(not make.espeak_available(), reason="espeak-ng not installed")


@pytest.fixture
def account(client: TestClient) -> Account:
    return signup(client)


@pytest.fixture(scope="module")
def audio_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("announcements")


def upload(client: TestClient, account: Account, name: str, data: bytes,
           content_type: str = "application/octet-stream", **form: Any) -> Any:
    return client.post("/api/announcements/upload/", headers=account.auth,
                       files={"file": (name, data, content_type)},
                       data={k: str(v).lower() if isinstance(v, bool) else v
                             for k, v in form.items()})


def created(response: Any) -> tuple[dict[str, Any], int]:
    assert response.status_code == 201, response.text
    return response.json(), int(response.headers["X-Event-Position"])


def wait_for(client: TestClient, account: Account, ann_id: str,
             position: int | None = None) -> dict[str, Any]:
    return wait_until_done(client, account, f"/api/announcements/{ann_id}/", position)


def test_uploads_and_browser_recordings_get_their_real_duration(
    client: TestClient, container: Container, account: Account, audio_dir: Path
) -> None:
    wav = make.make_wav(audio_dir / "w.wav", 2.0).read_bytes()
    mp3 = make.make_mp3(audio_dir / "m.mp3", 1.5, title="Ignored tag").read_bytes()
    webm = make.make_webm(audio_dir / "r.webm", 1.2, live=True).read_bytes()
    ogg = make.make_ogg_opus(audio_dir / "r.ogg", 0.8).read_bytes()

    a, _ = created(upload(client, account, "Store closing.wav", wav, "audio/wav"))
    b, _ = created(upload(client, account, "sale.mp3", mp3, "audio/mpeg", title="Big sale"))
    c, _ = created(upload(client, account, "blob", webm, "audio/webm", is_recording=True))
    d, position = created(upload(client, account, "rec.ogg", ogg, "audio/ogg;codecs=opus",
                                 is_recording=True, title="Mic check"))

    expected = [  # (item, title, format, content type, duration, is_recording, data)
        (a, "Store closing", "wav", "audio/wav", 2.0, False, wav),
        (b, "Big sale", "mp3", "audio/mpeg", 1.5, False, mp3),
        (c, "blob", "webm", "audio/webm", 1.2, True, webm),
        (d, "Mic check", "opus", "audio/ogg", 0.8, True, ogg),
    ]
    for item, title, fmt, ctype, seconds, recording, data in expected:
        assert item["status"] == "ready", item
        assert (item["title"], item["format"], item["content_type"]) == (title, fmt, ctype)
        assert item["duration"] == pytest.approx(seconds, abs=0.2), fmt
        assert (item["is_recording"], item["is_tts"]) == (recording, False)
        assert item["file_size"] == len(data)
        assert item["client"] == account.client_id
        got = client.get(f"/api/announcements/{item['id']}/", headers=account.waiting(position))
        assert got.status_code == 200 and got.json()["duration"] == item["duration"]
        audio = fetch(client, got.json()["file"])
        assert (audio.status_code, audio.headers["content-type"]) == (200, ctype)
        assert audio.content == data
    assert used_bytes(container, account) == len(wav) + len(mp3) + len(webm) + len(ogg)

    page = client.get("/api/announcements/?page_size=3", headers=account.waiting(position))
    assert page.status_code == 200
    body = page.json()
    assert (body["count"], len(body["results"]), body["previous"]) == (4, 3, None)
    assert body["next"] is not None


def test_bad_announcement_files_are_refused_and_nothing_is_stored(
    client: TestClient, container: Container, settings: Settings, account: Account,
    audio_dir: Path
) -> None:
    cases = [
        ("noise.mp3", make.random_bytes_file(audio_dir / "n.bin").read_bytes(), 415),
        ("empty.wav", b"", 422),
        ("picture.mp3", make.make_png(), 415),
        ("music.flac", make.make_flac(audio_dir / "f.flac", 1.0).read_bytes(), 415),
        ("cut.mp3", make.truncated_mp3(audio_dir / "t.mp3").read_bytes(), 422),
        ("video.webm", make.make_silent_video(audio_dir / "v.mkv", 1.0, "matroska")
         .read_bytes(), 415),
    ]
    for name, data, status in cases:
        problem = assert_problem(upload(client, account, name, data), status)
        assert problem["detail"], name
    assert_problem(client.post("/api/announcements/upload/", headers=account.auth), 422)

    assert listed_ids(client, account, "/api/announcements/") == []
    assert stored_files(settings.media_root, account.client_id) == set()
    assert used_bytes(container, account) == 0


def test_an_announcement_over_the_client_quota_is_413(
    client: TestClient, container: Container, settings: Settings, account: Account,
    audio_dir: Path
) -> None:
    container.accounts.change_client(CTX, UUID(account.client_id), max_storage_gb=0)
    wav = make.make_wav(audio_dir / "q.wav", 0.5).read_bytes()

    problem = assert_problem(upload(client, account, "q.wav", wav), 413)

    assert "quota" in problem["detail"]
    assert stored_files(settings.media_root, account.client_id) == set()
    assert used_bytes(container, account) == 0


@needs_espeak
def test_text_to_speech_makes_a_real_wav_in_the_background(
    client: TestClient, container: Container, account: Account
) -> None:
    text = "Attention shoppers, the store closes in ten minutes."
    response = client.post("/api/announcements/tts/", headers=account.auth,
                           json={"text": text, "voice": "", "language": "en-US"})

    assert response.status_code == 202, response.text
    accepted = response.json()
    assert (accepted["status"], accepted["file"], accepted["is_tts"]) == ("processing", None,
                                                                         True)
    assert (accepted["tts_text"], accepted["tts_language"]) == (text, "en-US")
    assert accepted["title"]

    ann = wait_for(client, account, accepted["id"], int(response.headers["X-Event-Position"]))

    assert ann["status"] == "ready", ann
    assert (ann["format"], ann["content_type"]) == ("wav", "audio/wav")
    assert ann["duration"] > 0.5
    audio = fetch(client, ann["file"])
    assert audio.status_code == 200
    assert audio.headers["content-type"] == "audio/wav"
    assert len(audio.content) == ann["file_size"]
    with wave.open(BytesIO(audio.content)) as speech:
        seconds = speech.getnframes() / speech.getframerate()
    assert seconds == pytest.approx(ann["duration"], abs=0.05)
    assert used_bytes(container, account) == ann["file_size"]


@needs_espeak
def test_speech_that_cannot_be_made_ends_failed_with_a_reason(
    client: TestClient, container: Container, account: Account
) -> None:
    response = client.post("/api/announcements/tts/", headers=account.auth,
                           json={"text": "Hello", "voice": "", "language": "zz-ZZ"})
    assert response.status_code == 202, response.text

    ann = wait_for(client, account, response.json()["id"],
                   int(response.headers["X-Event-Position"]))

    assert ann["status"] == "failed"
    assert ann["failure_reason"]
    assert ann["file"] is None
    assert used_bytes(container, account) == 0


@pytest.mark.parametrize("body", [{"text": ""}, {"text": "   \n "}, {}, {"text": "x" * 5001},
                                  {"text": "Hi", "folder": "not-a-uuid"}])
def test_text_to_speech_refuses_invalid_input(client: TestClient, account: Account,
                                              body: dict[str, Any]) -> None:
    problem = assert_problem(client.post("/api/announcements/tts/", headers=account.auth,
                                         json=body), 422)
    assert problem["errors"]
    assert listed_ids(client, account, "/api/announcements/") == []


def test_announcements_can_be_renamed_filed_and_deleted(
    client: TestClient, container: Container, settings: Settings, account: Account,
    audio_dir: Path
) -> None:
    wav = make.make_wav(audio_dir / "e.wav", 1.0, freq=500).read_bytes()
    ann, _ = created(upload(client, account, "first.wav", wav))
    url = f"/api/announcements/{ann['id']}/"

    renamed = client.patch(url, headers=account.auth, json={"title": "  Welcome  "})
    assert renamed.status_code == 200, renamed.text
    assert renamed.json()["title"] == "Welcome"
    position = int(renamed.headers["X-Event-Position"])
    assert client.get(url, headers=account.waiting(position)).json()["title"] == "Welcome"
    assert_problem(client.patch(url, headers=account.auth, json={"title": ""}), 422)

    folder = client.post("/api/music/folders/", headers=account.auth,
                         json={"name": "Announcements", "type": "announcement"}).json()
    music = client.post("/api/music/folders/", headers=account.auth,
                        json={"name": "Songs"}).json()
    filed = client.patch(url, headers=account.auth, json={"folder": folder["id"]})
    assert filed.status_code == 200 and filed.json()["folder"] == folder["id"]
    position = int(filed.headers["X-Event-Position"])
    assert listed_ids(client, account, f"/api/announcements/?folder={folder['id']}",
                      position) == [ann["id"]]
    assert_problem(client.patch(url, headers=account.auth, json={"folder": music["id"]}), 422)
    second, _ = created(upload(client, account, "second.wav",
                               make.make_wav(audio_dir / "s.wav", 1.0, freq=600).read_bytes(),
                               folder=folder["id"]))
    assert second["folder"] == folder["id"]
    assert_problem(upload(client, account, "x.wav", wav, folder=music["id"]), 422)

    deleted = client.delete(url, headers=account.auth)

    assert deleted.status_code == 204, deleted.text
    position = int(deleted.headers["X-Event-Position"])
    assert_problem(client.get(url, headers=account.waiting(position)), 404)
    assert_problem(client.patch(url, headers=account.auth, json={"title": "Back"}), 404)
    assert_problem(client.delete(url, headers=account.auth), 404)
    assert listed_ids(client, account, "/api/announcements/", position) == [second["id"]]
    assert fetch(client, ann["file"]).status_code == 404
    assert used_bytes(container, account) == second["file_size"]
    assert [p.name for p in stored_files(settings.media_root, account.client_id)] == [
        f"{second['id']}.wav"]
