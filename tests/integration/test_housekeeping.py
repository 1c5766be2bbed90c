"""Housekeeping (issue 16) on a database of its own and a controllable clock:
expired sessions and pairing codes end, orphaned media goes after its grace,
and nothing an event refers to is ever removed."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest
import redis
from fastapi.testclient import TestClient
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from domain.pairing import pairing_code_id
from infra.bootstrap import Container, bootstrap
from infra.housekeeping import Housekeeping, Swept
from infra.storage import S3Storage
from interfaces.http.app import create_app
from tests.audio_factory import mp3_bytes
from tests.conftest import make_settings
from tests.integration.accounts_helpers import Account, login, session_id_of, signup
from tests.integration.library_fixtures import upload_track
from tests.integration.storage_fixtures import (
    S3_ACCESS_KEY,
    S3_REGION,
    S3_SECRET_KEY,
    s3_endpoint,  # noqa: F401 - a fixture
)


@pytest.fixture(scope="module")
def world(servers: dict[str, str],
          tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Container, TestClient]]:
    """An app on a database and Redis prefix of its own: housekeeping sweeps all of it."""
    name = f"s2g_hk_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(servers["database_url"], autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    info = {**conninfo_to_dict(servers["database_url"]), "dbname": name}
    url = make_conninfo(**{k: v for k, v in info.items() if v is not None})
    prefix = f"s2g-hk-{uuid.uuid4().hex[:12]}:"
    settings = make_settings(url, servers, prefix, tmp_path_factory.mktemp("hk"),
                             workers_in_process=False)
    container = bootstrap(settings)
    with TestClient(create_app(container)) as http:
        yield container, http
    container.close()
    with psycopg.connect(servers["database_url"], autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    client = redis.Redis.from_url(servers["redis_url"])
    for key in client.scan_iter(match=f"{prefix}*"):
        client.delete(key)
    client.close()


def at(container: Container, now: datetime) -> Housekeeping:
    return container.housekeeping(clock=lambda: now)


def eventually(check: Callable[[], Any], timeout: float = 10.0) -> Any:
    deadline = time.monotonic() + timeout
    while not (result := check()):
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)
    return result


def started(container: Container, account: Account) -> datetime:
    """When the account's session last handed out a refresh token (once projected)."""
    session_id = session_id_of(account.refresh)
    eventually(lambda: session_id in container.accounts_view.sessions_refreshed_before(
        datetime.now(UTC) + timedelta(days=1), 10_000))
    modified: datetime = container.accounts.repository.get(session_id).modified_on
    return modified


def test_expired_sessions_end_and_are_refused_while_fresh_ones_are_kept(
        world: tuple[Container, TestClient]) -> None:
    container, http = world
    old = signup(http)
    time.sleep(0.05)
    fresh = login(http, signup(http).email)
    old_at, fresh_at = started(container, old), started(container, fresh)
    lifetime = timedelta(seconds=container.settings.refresh_token_ttl_seconds)

    assert at(container, old_at + lifetime - timedelta(seconds=1)).run().sessions_expired == 0
    now = old_at + lifetime + (fresh_at - old_at) / 4
    swept = at(container, now).run()

    assert swept.sessions_expired == 1
    session_id = session_id_of(old.refresh)
    key = f"{container.settings.redis_prefix}auth:s:{session_id}"
    assert container.redis.exists(key) == 0  # nothing left in Redis
    assert http.get("/api/auth/me/", headers=old.auth).status_code == 401
    assert http.post("/api/auth/refresh/", json={"refresh": old.refresh}).status_code == 401
    assert http.get("/api/auth/me/", headers=fresh.auth).status_code == 200
    assert container.accounts.repository.get(session_id).revoked_reason == "expired"
    eventually(lambda: session_id not in container.accounts_view.sessions_refreshed_before(
        now, 10_000))
    assert at(container, now).run().sessions_expired == 0  # idempotent


def _zone(http: TestClient, owner: Account) -> str:
    response = http.post("/api/zones/", json={"name": "Floor"}, headers=owner.auth)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def _code(http: TestClient, owner: Account, zone_id: str) -> str:
    response = http.post(f"/api/zones/{zone_id}/pairing-code/", headers=owner.auth)
    assert response.status_code in (200, 201), response.text
    return str(response.json()["code"])


def _pair(http: TestClient, code: str) -> Any:
    return http.post("/api/devices/pair/", json={
        "code": code, "device_id": f"hw-{uuid.uuid4().hex[:10]}", "name": "Speaker",
        "device_type": "speaker"})


def test_expired_unused_pairing_codes_are_retired_and_used_ones_kept(
        world: tuple[Container, TestClient]) -> None:
    container, http = world
    owner = signup(http)
    zone_id = _zone(http, owner)
    used, unused = _code(http, owner, zone_id), _code(http, owner, zone_id)
    assert _pair(http, used).status_code == 201
    used_id, unused_id = pairing_code_id(used), pairing_code_id(unused)
    later = datetime.now(UTC) + timedelta(days=1)
    eventually(lambda: container.devices_view.unused_pairing_codes_expired(later, 100)
               == [unused_id])

    assert at(container, datetime.now(UTC)).run().pairing_codes_expired == 0
    swept = at(container, datetime.now(UTC) + timedelta(minutes=11)).run()

    assert swept.pairing_codes_expired == 1
    assert container.devices.repository.get(unused_id).expired
    assert not container.devices.repository.get(used_id).expired
    eventually(lambda: container.devices_view.unused_pairing_codes_expired(later, 100) == [])
    assert _pair(http, unused).status_code in (400, 404, 409, 422)
    assert at(container, later).run().pairing_codes_expired == 0


def _track(http: TestClient, owner: Account, container: Container,
           freq: float) -> tuple[str, str]:
    track, position = upload_track(http, owner, ("a.mp3", mp3_bytes(0.5, freq=freq),
                                                 "audio/mpeg"))
    container.wait("library_view", position)
    row = container.library_view.get("library_tracks", uuid.UUID(track["id"]))
    assert row is not None
    return str(track["id"]), str(row["media_key"])


def test_orphaned_media_goes_after_its_grace_and_referenced_media_stays(
        world: tuple[Container, TestClient]) -> None:
    container, http = world
    storage, grace = container.storage, timedelta(seconds=container.settings.orphan_grace_seconds)
    owner = signup(http)
    _, kept = _track(http, owner, container, 440)
    deleted_id, deleted_key = _track(http, owner, container, 660)
    view = container.library_view  # its row gone (a view being rebuilt, say)
    with view.datastore.transaction(commit=True) as curs:
        curs.execute(view._q("DELETE FROM {schema}.library_tracks WHERE id = %(id)s"),
                     {"id": uuid.UUID(deleted_id)})
    orphan = f"clients/{owner.client_id}/tracks/{uuid.uuid4()}.mp3"
    stray = "stray/notes.txt"  # no owner's id: never ours to remove
    for key in (orphan, stray):
        storage.put_bytes(key, b"orphan", "audio/mpeg")
    assert {kept, deleted_key, orphan, stray} <= set(storage.list_keys())
    t0 = datetime.now(UTC)

    first = at(container, t0).run()
    assert first.orphans_found >= 3 and first.orphans_removed == 0
    assert at(container, t0 + grace - timedelta(seconds=1)).run().orphans_removed == 0
    assert storage.exists(orphan)
    assert at(container, t0 + grace + timedelta(seconds=1)).run().orphans_removed == 1

    assert not storage.exists(orphan)
    # The second track's row is gone, but its events still name the file.
    for key in (kept, deleted_key, stray):
        assert storage.exists(key), key
    assert at(container, t0 + 3 * grace).run().orphans_removed == 0


def test_two_housekeeping_runs_at_once_do_no_harm(world: tuple[Container, TestClient]) -> None:
    container, http = world
    account = signup(http)
    account_at = started(container, account)
    zone_id = _zone(http, account)
    code = _code(http, account, zone_id)
    eventually(lambda: pairing_code_id(code) in container.devices_view
               .unused_pairing_codes_expired(datetime.now(UTC) + timedelta(days=1), 100))
    orphan = f"clients/{account.client_id}/covers/{uuid.uuid4()}.jpg"
    container.storage.put_bytes(orphan, b"x", "image/jpeg")
    t0 = account_at + timedelta(seconds=container.settings.refresh_token_ttl_seconds + 60)
    at(container, t0).run()  # marks the orphan; ends the sessions, the code
    later = t0 + timedelta(seconds=container.settings.orphan_grace_seconds + 1)
    results: list[Swept] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            results.append(at(container, later).run())
        except BaseException as exc:  # noqa: BLE001 (reported below)
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)

    assert errors == [] and len(results) == 2
    assert sum(r.sessions_expired for r in results) == 0  # the first run ended them
    assert not container.storage.exists(orphan)
    assert container.accounts.repository.get(session_id_of(account.refresh)).is_revoked
    assert container.devices.repository.get(pairing_code_id(code)).expired


def test_orphans_are_found_in_s3_too(world: tuple[Container, TestClient],
                                      s3_endpoint: str) -> None:  # noqa: F811
    container, _ = world
    s3 = S3Storage(bucket=f"hk-{uuid.uuid4().hex[:8]}", region=S3_REGION,
                   endpoint_url=s3_endpoint, access_key_id=S3_ACCESS_KEY,
                   secret_access_key=S3_SECRET_KEY, create_bucket=True)
    orphan = f"clients/{uuid.uuid4()}/tracks/{uuid.uuid4()}.mp3"
    for key in (orphan, "stray/a.txt"):
        s3.put_bytes(key, b"x", "audio/mpeg")
    assert sorted(s3.list_keys()) == sorted([orphan, "stray/a.txt"])
    assert list(s3.list_keys("stray/")) == ["stray/a.txt"]
    housekeeping = at(container, datetime.now(UTC))
    housekeeping.storage = s3
    housekeeping.marks.name += ":s3"
    t0 = datetime.now(UTC)
    assert housekeeping.remove_orphans(t0) == (2, 0)
    grace = timedelta(seconds=container.settings.orphan_grace_seconds)
    assert housekeeping.remove_orphans(t0 + grace) == (2, 1)
    assert sorted(s3.list_keys()) == ["stray/a.txt"]
