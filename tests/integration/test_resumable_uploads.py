"""Resumable (tus 1.0.0) uploads against a real server on a socket: a connection cut
in the middle of a PATCH, resumed from the offset the server reports, gives the
very same stored file; and a finished upload meets the plain upload's checks."""

from __future__ import annotations

import base64
import hashlib
import os
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit
from uuid import UUID

import httpx
import pytest
import uvicorn

from application.resumable import ResumableUploads
from domain.base import Actor, CommandContext
from infra.bootstrap import Container
from interfaces.http.app import create_app
from tests import audio_factory as make
from tests.integration.accounts_helpers import Account, assert_problem, signup
from tests.integration.conftest import free_port

CTX = CommandContext(Actor.system("test"), "t")
TUS = {"Tus-Resumable": "1.0.0"}
STREAM = {**TUS, "Content-Type": "application/offset+octet-stream"}


@pytest.fixture(scope="module")
def server(container: Container) -> Iterator[str]:
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(container), host="127.0.0.1",
                                           port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(20)


@pytest.fixture
def http(server: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server, timeout=30) as client:
        yield client


@pytest.fixture
def account(http: httpx.Client) -> Account:
    return signup(http)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def big_wav(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """About 6 MB of real audio (70 s of 16-bit mono at 44.1 kHz)."""
    return make.make_wav(tmp_path_factory.mktemp("tus") / "big.wav", 70, freq=523).read_bytes()


def metadata(**values: str) -> str:
    return ",".join(f"{k} {base64.b64encode(v.encode()).decode()}" for k, v in values.items())


def create(http: httpx.Client, account: Account, length: int, kind: str = "music",
           **meta: str) -> httpx.Response:
    where = "music" if kind == "music" else "announcements"
    return http.post(f"/api/{where}/uploads/", headers={
        **account.auth, **TUS, "Upload-Length": str(length),
        "Upload-Metadata": metadata(**meta)})


def start(http: httpx.Client, account: Account, data: bytes, **meta: str) -> str:
    response = create(http, account, len(data), **meta)
    assert response.status_code == 201, response.text
    assert response.headers["Tus-Resumable"] == "1.0.0" and response.headers["Upload-Expires"]
    return response.headers["Location"]


def patch(http: httpx.Client, account: Account, url: str, offset: int,
          body: bytes) -> httpx.Response:
    return http.patch(url, content=body,
                      headers={**account.auth, **STREAM, "Upload-Offset": str(offset)})


def offset_of(http: httpx.Client, account: Account, url: str) -> int:
    response = http.head(url, headers={**account.auth, **TUS})
    assert response.status_code == 200, response.text
    return int(response.headers["Upload-Offset"])


def cut_mid_patch(base: str, account: Account, url: str, offset: int, body: bytes,
                  sent: int) -> None:
    """A PATCH announcing all of `body` whose connection closes after `sent` bytes."""
    address = urlsplit(base)
    head = (f"PATCH {url} HTTP/1.1\r\nHost: {address.netloc}\r\n"
            f"Authorization: {account.auth['Authorization']}\r\nTus-Resumable: 1.0.0\r\n"
            f"Content-Type: application/offset+octet-stream\r\nUpload-Offset: {offset}\r\n"
            f"Content-Length: {len(body)}\r\n\r\n").encode()
    with socket.create_connection((address.hostname, address.port)) as raw:
        raw.sendall(head + body[:sent])
        time.sleep(0.2)
    # The server keeps what it read before the connection broke.


def settled_offset(http: httpx.Client, account: Account, url: str) -> int:
    """The offset once the broken PATCH has let go of the upload."""
    last, deadline = -1, time.monotonic() + 10
    while time.monotonic() < deadline:
        now = offset_of(http, account, url)
        probe = patch(http, account, url, now, b"")  # refused while the old PATCH writes
        if probe.status_code == 204 and now == last:
            return now
        last = now
        time.sleep(0.1)
    raise AssertionError("the interrupted PATCH never let go of the upload")


def stored_sha256(http: httpx.Client, account: Account, track_id: str) -> str:
    track = http.get(f"/api/music/files/{track_id}/", headers=account.auth).json()
    url = urlsplit(track["file"])
    media = http.get(f"{url.path}?{url.query}")
    assert media.status_code == 200
    return hashlib.sha256(media.content).hexdigest()


def test_an_interrupted_upload_resumes_where_it_stopped_and_stores_the_same_file(
        server: str, http: httpx.Client, account: Account, big_wav: bytes) -> None:
    url = start(http, account, big_wav, filename="big.wav", title="Resumed",
                artist="Tus")
    half = len(big_wav) // 2
    cut_mid_patch(server, account, url, 0, big_wav, half)
    offset = settled_offset(http, account, url)
    assert 0 < offset <= half
    wrong = patch(http, account, url, offset + 1, big_wav[offset + 1:])
    assert "not" in assert_problem(wrong, 409)["detail"]
    done = patch(http, account, url, offset, big_wav[offset:])
    assert done.status_code == 204, done.text
    assert done.headers["Upload-Offset"] == str(len(big_wav))
    track_url = done.headers["Content-Location"]
    track = http.get(track_url, headers=account.waiting(
        int(done.headers["X-Event-Position"]))).json()
    assert (track["title"], track["artist"], track["format"]) == ("Resumed", "Tus", "wav")
    assert stored_sha256(http, account, track["id"]) == hashlib.sha256(big_wav).hexdigest()
    gone = http.head(url, headers={**account.auth, **TUS})
    assert gone.status_code == 404  # finished: the upload is gone


def test_another_clients_upload_is_not_found(http: httpx.Client, account: Account) -> None:
    data = make.mp3_bytes(1.0, freq=610)
    url = start(http, account, data, filename="mine.mp3")
    stranger = signup(http)  # type: ignore[arg-type]
    assert http.head(url, headers={**stranger.auth, **TUS}).status_code == 404
    assert_problem(patch(http, stranger, url, 0, data), 404)
    assert offset_of(http, account, url) == 0  # nothing written by the stranger
    music_url = url.replace("/music/", "/announcements/")
    assert http.head(music_url, headers={**account.auth, **TUS}).status_code == 404


def test_an_upload_larger_than_the_free_storage_is_refused_at_creation(
        http: httpx.Client, container: Container) -> None:
    account = signup(http)  # type: ignore[arg-type]
    container.accounts.change_client(CTX, UUID(account.client_id), max_storage_gb=0)
    response = create(http, account, 1000, filename="big.mp3")
    assert "quota" in assert_problem(response, 413)["detail"]


def test_a_finished_upload_of_known_content_is_a_duplicate_as_in_a_plain_upload(
        http: httpx.Client, account: Account) -> None:
    data = make.mp3_bytes(1.0, freq=655)
    plain = http.post("/api/music/upload/", headers=account.auth,
                      files={"file": ("plain.mp3", data, "audio/mpeg")})
    assert plain.status_code == 201, plain.text
    url = start(http, account, data, filename="again.mp3")
    problem = assert_problem(patch(http, account, url, 0, data), 409)
    [duplicate] = problem["errors"]
    assert duplicate["existing_id"] == plain.json()["created"][0]["id"]
    assert http.head(url, headers={**account.auth, **TUS}).status_code == 404


def test_an_announcement_finished_by_tus_is_created_with_its_title(
        http: httpx.Client, account: Account) -> None:
    data = make.mp3_bytes(1.0, freq=700)
    url = start_announcement(http, account, data)
    done = patch(http, account, url, 0, data)
    assert done.status_code == 204, done.text
    ann = http.get(done.headers["Content-Location"], headers=account.waiting(
        int(done.headers["X-Event-Position"]))).json()
    assert ann["title"] == "Doors close soon"


def start_announcement(http: httpx.Client, account: Account, data: bytes) -> str:
    response = create(http, account, len(data), kind="announcement", filename="doors.mp3",
                      title="Doors close soon")
    assert response.status_code == 201, response.text
    return response.headers["Location"]


def test_bytes_past_the_declared_length_and_old_versions_are_refused(
        http: httpx.Client, account: Account) -> None:
    url = start(http, account, b"x" * 10, filename="short.mp3")
    assert_problem(patch(http, account, url, 0, b"y" * 11), 413)
    assert offset_of(http, account, url) == 0  # no partial chunk past the length
    old = http.head(url, headers={**account.auth, "Tus-Resumable": "0.2.2"})
    assert old.status_code == 412 and old.headers["Tus-Version"] == "1.0.0"


def test_uploads_left_alone_past_their_time_to_live_are_swept(tmp_path: Path) -> None:
    uploads = ResumableUploads(tmp_path, ttl_seconds=60)
    client_id = UUID(int=1)
    kept = uploads.create(client_id=client_id, kind="music", length=5, metadata={})
    stale = uploads.create(client_id=client_id, kind="music", length=5, metadata={})
    with uploads.appending(stale, 0) as out:
        out.write(b"ab")
    old = time.time() - 120
    os.utime(tmp_path / str(stale.id) / "data", (old, old))
    assert uploads.sweep() == 1
    assert uploads.get(kept.id) == kept
    assert not (tmp_path / str(stale.id)).exists()
