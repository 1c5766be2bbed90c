"""LocalStorage and S3Storage against real files, a real uvicorn server and a real S3 server."""

from __future__ import annotations

import io
import os
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

import httpx
import pytest
import uvicorn
from fastapi import FastAPI, Response

from infra.storage import LocalStorage, S3Storage
from interfaces.http.media import local_file_response
from tests.integration.storage_fixtures import (  # noqa: F401 (s3_endpoint is a fixture)
    S3_ACCESS_KEY,
    S3_REGION,
    S3_SECRET_KEY,
    s3_endpoint,
)

SIGNING_KEY = b"test-media-signing-key"


class ReadSizeRecorder(io.RawIOBase):
    """A readable stream that remembers the largest read() it was asked for."""

    def __init__(self, data: bytes) -> None:
        self._inner = io.BytesIO(data)
        self.largest_read = 0

    def readable(self) -> bool:
        return True

    def read(self, size: int | None = -1) -> bytes:
        chunk = self._inner.read(size)
        # An unbounded read() counts as asking for everything that was left.
        asked = len(chunk) if size is None or size < 0 else size
        self.largest_read = max(self.largest_read, asked)
        return chunk

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        chunk = self.read(len(buffer))
        buffer[: len(chunk)] = chunk
        return len(chunk)


def with_query(url: str, **changes: str) -> str:
    parts = urlsplit(url)
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    query.update(changes)
    return urlunsplit(parts._replace(query=urlencode(query)))


# --- LocalStorage ----------------------------------------------------------------------


def test_local_put_streams_a_big_file_in_bounded_chunks(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path / "media", SIGNING_KEY, "http://unused")
    data = os.urandom(5 * 1024 * 1024)
    source = ReadSizeRecorder(data)

    storage.put("tracks/a/song.mp3", source, "audio/mpeg")  # type: ignore[arg-type]

    assert source.largest_read <= 1024 * 1024
    assert storage.path_of("tracks/a/song.mp3").read_bytes() == data
    assert list(storage.path_of("tracks/a").iterdir()) == [storage.path_of("tracks/a/song.mp3")]
    copy = tmp_path / "copy.mp3"
    storage.download_to("tracks/a/song.mp3", copy)
    assert copy.read_bytes() == data


def test_local_put_replaces_an_existing_file_whole(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path, SIGNING_KEY, "http://unused")
    storage.put_bytes("x/y.bin", b"first version, longer", "application/octet-stream")
    storage.put_bytes("x/y.bin", b"second", "application/octet-stream")
    assert storage.path_of("x/y.bin").read_bytes() == b"second"


@pytest.mark.parametrize(
    "key",
    ["", "../escape", "a/../../b", "/etc/passwd", "a\\b", "a//b", "a/", "./a", "a/./b"],
)
def test_local_storage_rejects_keys_that_are_not_plain_relative_paths(
    tmp_path: Path, key: str
) -> None:
    storage = LocalStorage(tmp_path, SIGNING_KEY, "http://unused")
    with pytest.raises(ValueError):
        storage.put_bytes(key, b"x", "text/plain")
    with pytest.raises(ValueError):
        storage.signed_url(key, expires_in=60)
    assert list(tmp_path.iterdir()) == []


def test_local_delete_removes_the_file_and_tolerates_a_missing_one(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path, SIGNING_KEY, "http://unused")
    storage.put_bytes("a/b.txt", b"hello", "text/plain")
    assert storage.exists("a/b.txt")
    storage.delete("a/b.txt")
    assert not storage.exists("a/b.txt")
    storage.delete("a/b.txt")
    storage.delete("never/was.txt")
    with pytest.raises(FileNotFoundError):
        storage.download_to("a/b.txt", tmp_path / "out")


# --- Signed URLs served over real HTTP -------------------------------------------------


@pytest.fixture(scope="module")
def media_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LocalStorage, str]]:
    """A uvicorn server with the media route, and a LocalStorage whose URLs point at it."""
    holder: dict[str, LocalStorage] = {}
    app = FastAPI()

    @app.get("/api/media/{key:path}")
    def media(key: str, exp: str = "", sig: str = "", ct: str | None = None) -> Response:
        return local_file_response(holder["storage"], key, exp, sig, ct)

    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    base_url = f"http://127.0.0.1:{port}"
    holder["storage"] = LocalStorage(tmp_path_factory.mktemp("media"), SIGNING_KEY, base_url)
    yield holder["storage"], base_url
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture(scope="module")
def served_file(media_server: tuple[LocalStorage, str]) -> bytes:
    data = os.urandom(64 * 1024)
    media_server[0].put_bytes("tracks/t 1/song.mp3", data, "audio/mpeg")
    return data


def test_signed_url_serves_the_whole_file_with_its_type(
    media_server: tuple[LocalStorage, str], served_file: bytes
) -> None:
    storage, base_url = media_server
    url = storage.signed_url("tracks/t 1/song.mp3", expires_in=60)
    assert url.startswith(f"{base_url}/api/media/tracks/t%201/song.mp3?exp=")

    response = httpx.get(url)

    assert response.status_code == 200
    assert response.content == served_file
    assert response.headers["content-type"] == "audio/mpeg"
    assert response.headers["accept-ranges"] == "bytes"


def test_signed_url_answers_a_range_request_with_partial_content(
    media_server: tuple[LocalStorage, str], served_file: bytes
) -> None:
    storage, _ = media_server
    url = storage.signed_url("tracks/t 1/song.mp3", expires_in=60)

    response = httpx.get(url, headers={"Range": "bytes=100-199"})

    assert response.status_code == 206
    assert response.content == served_file[100:200]
    assert response.headers["content-range"] == f"bytes 100-199/{len(served_file)}"


def test_signed_url_uses_the_signed_content_type(
    media_server: tuple[LocalStorage, str], served_file: bytes
) -> None:
    storage, _ = media_server
    url = storage.signed_url("tracks/t 1/song.mp3", expires_in=60, content_type="audio/ogg")

    assert httpx.get(url).headers["content-type"] == "audio/ogg"
    forged = httpx.get(with_query(url, ct="text/html"))
    assert forged.status_code == 403


def test_tampered_signature_is_forbidden_as_a_problem(
    media_server: tuple[LocalStorage, str], served_file: bytes
) -> None:
    storage, _ = media_server
    url = storage.signed_url("tracks/t 1/song.mp3", expires_in=60)
    sig = parse_qs(urlsplit(url).query)["sig"][0]
    tampered = sig[:-1] + ("A" if sig[-1] != "A" else "B")

    response = httpx.get(with_query(url, sig=tampered))

    assert response.status_code == 403
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["status"] == 403
    assert set(response.json()) == {"type", "title", "status", "detail"}
    assert httpx.get(with_query(url, exp="not-a-number")).status_code == 403


def test_expired_signed_url_is_forbidden(
    media_server: tuple[LocalStorage, str], served_file: bytes
) -> None:
    storage, _ = media_server
    url = storage.signed_url("tracks/t 1/song.mp3", expires_in=-1)
    assert httpx.get(url).status_code == 403


def test_signed_url_for_a_missing_file_is_not_found(
    media_server: tuple[LocalStorage, str],
) -> None:
    storage, _ = media_server
    response = httpx.get(storage.signed_url("tracks/nope.mp3", expires_in=60))
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"


# --- S3Storage against a real S3-compatible server -------------------------------------


def make_s3(endpoint: str, bucket: str) -> S3Storage:
    return S3Storage(
        bucket=bucket,
        region=S3_REGION,
        endpoint_url=endpoint,
        access_key_id=S3_ACCESS_KEY,
        secret_access_key=S3_SECRET_KEY,
        create_bucket=True,
    )


def test_s3_round_trip_and_presigned_get_with_range(s3_endpoint: str, tmp_path: Path) -> None:  # noqa: F811
    storage = make_s3(s3_endpoint, f"media-{uuid.uuid4().hex[:8]}")
    data = os.urandom(3 * 1024 * 1024)
    key = "tracks/abc/song.mp3"

    assert not storage.exists(key)
    storage.put(key, io.BytesIO(data), "audio/mpeg")
    assert storage.exists(key)
    storage.download_to(key, tmp_path / "song.mp3")
    assert (tmp_path / "song.mp3").read_bytes() == data

    url = storage.signed_url(key, expires_in=60)
    full = httpx.get(url)
    assert full.status_code == 200
    assert full.content == data
    assert full.headers["content-type"] == "audio/mpeg"
    part = httpx.get(url, headers={"Range": "bytes=100-199"})
    assert part.status_code == 206
    assert part.content == data[100:200]
    assert part.headers["content-range"] == f"bytes 100-199/{len(data)}"

    storage.delete(key)
    assert not storage.exists(key)
    storage.delete(key)
    with pytest.raises(FileNotFoundError):
        storage.download_to(key, tmp_path / "gone.mp3")


def test_s3_presigned_url_can_override_the_content_type(s3_endpoint: str) -> None:  # noqa: F811
    storage = make_s3(s3_endpoint, f"media-{uuid.uuid4().hex[:8]}")
    storage.put_bytes("a/b.bin", b"payload", "application/octet-stream")
    # A second instance must accept the bucket that already exists.
    again = make_s3(s3_endpoint, storage.bucket)

    response = httpx.get(again.signed_url("a/b.bin", expires_in=60, content_type="audio/wav"))

    assert response.status_code == 200
    assert response.content == b"payload"
    assert response.headers["content-type"] == "audio/wav"
