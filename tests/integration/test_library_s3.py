"""The library on S3 end to end: upload through the API, tags read by the worker from the
bucket, and presigned URLs fetched over real HTTP from an S3-compatible server (moto).

The app here runs its own projections and worker, so it gets a database and a Redis
prefix of its own: the session's worker (local storage) must never pick up its jobs.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import psycopg
import pytest
import redis
from fastapi.testclient import TestClient
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from infra.bootstrap import Container, bootstrap
from infra.storage import S3Storage
from interfaces.http.app import create_app
from tests import audio_factory as make
from tests.conftest import make_settings
from tests.integration.accounts_helpers import assert_problem, signup
from tests.integration.library_fixtures import upload_track, wait_for_track
from tests.integration.storage_fixtures import (
    S3_ACCESS_KEY,
    S3_REGION,
    S3_SECRET_KEY,
    s3_endpoint,  # noqa: F401 - a fixture
)


@pytest.fixture(scope="module")
def s3_app(servers: dict[str, str], s3_endpoint: str,  # noqa: F811
           tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Container, TestClient]]:
    admin_url = servers["database_url"]
    name = f"s2g_test_s3_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    info = conninfo_to_dict(admin_url)
    info["dbname"] = name
    database_url = make_conninfo(**{k: v for k, v in info.items() if v is not None})
    prefix = f"s2g-test-s3-{uuid.uuid4().hex[:12]}:"
    settings = make_settings(
        database_url, servers, prefix, tmp_path_factory.mktemp("s3app"),
        storage_backend="s3", s3_bucket=f"s2g-test-{uuid.uuid4().hex[:12]}",
        s3_endpoint_url=s3_endpoint, aws_access_key_id=S3_ACCESS_KEY,
        aws_secret_access_key=S3_SECRET_KEY, s3_region=S3_REGION, s3_create_bucket=True,
    )
    container = bootstrap(settings)
    try:
        with TestClient(create_app(container)) as client:
            yield container, client
    finally:
        container.close()
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        r = redis.Redis.from_url(servers["redis_url"])
        for key in r.scan_iter(match=f"{prefix}*", count=1000):
            r.delete(key)
        r.close()


def test_an_upload_is_stored_in_the_bucket_and_served_by_presigned_urls(
    s3_app: tuple[Container, TestClient], s3_endpoint: str,  # noqa: F811
    tmp_path: Path
) -> None:
    container, client = s3_app
    assert isinstance(container.storage, S3Storage)
    account = signup(client)
    cover = make.make_png((120, 120))
    data = make.make_mp3(tmp_path / "s3.mp3", 1.5, title="Bucket Song", artist="Moto",
                         cover=cover).read_bytes()

    created, position = upload_track(client, account, ("bucket.mp3", data, "audio/mpeg"))
    track = wait_for_track(client, account, created["id"], position)

    assert track["status"] == "ready", track
    assert (track["title"], track["artist"]) == ("Bucket Song", "Moto")
    assert track["duration"] == pytest.approx(1.5, abs=0.2)
    assert track["file"].startswith(s3_endpoint + "/")
    audio = httpx.get(track["file"], timeout=10)
    assert audio.status_code == 200, audio.text
    assert audio.content == data
    assert audio.headers["content-type"] == "audio/mpeg"
    part = httpx.get(track["file"], headers={"Range": "bytes=0-99"}, timeout=10)
    assert (part.status_code, part.content) == (206, data[:100])
    art = httpx.get(track["cover_art"], timeout=10)
    assert (art.status_code, art.content) == (200, cover)
    assert httpx.get(track["cover_thumbnail"], timeout=10).headers["content-type"] == (
        "image/jpeg")
    assert container.library.used_bytes(uuid.UUID(account.client_id)) == len(data)
    assert client.get("/api/media/" + track["file"].split("/", 4)[-1]).status_code == 404

    base = f"clients/{account.client_id}"
    keys = (f"{base}/tracks/{track['id']}.mp3", f"{base}/covers/{track['id']}.png",
            f"{base}/covers/{track['id']}-thumb.jpg")
    assert all(container.storage.exists(key) for key in keys)

    deleted = client.delete(f"/api/music/files/{track['id']}/", headers=account.auth)

    assert deleted.status_code == 204, deleted.text
    for key in keys:
        assert not container.storage.exists(key), key
    for url in (track["file"], track["cover_art"]):  # S3 answers 403 or 404 for no object
        assert httpx.get(url, timeout=10).status_code in (403, 404)
    assert container.library.used_bytes(uuid.UUID(account.client_id)) == 0
    assert_problem(client.get(f"/api/music/files/{track['id']}/",
                              headers=account.waiting(int(deleted.headers["X-Event-Position"]))),
                   404)
