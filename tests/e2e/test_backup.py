"""`sync2gear backup` and `sync2gear restore`, as the real CLI, on a store made through the API.

A client signs up, uploads two tagged MP3s (one with cover art, so the worker
stores a cover and a thumbnail too) and an announcement, creates a zone, plays
it, skips, schedules music and pairs a device. The backup is taken while that
system runs, and while the zone's volume is turned again and again. The
restore goes into a fresh database and an empty media folder; then the events
are those of the original up to the manifest's positions, every read model
rebuilt from the restored events equals the restored one, the media files are
identical, and the restored system answers the API. Restores into a database
in use, or from a manifest with an altered hash, refuse and change nothing.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from fastapi.testclient import TestClient
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from infra.backup import BackupError, backup, read_manifest, restore
from infra.bootstrap import Container, bootstrap
from infra.postgres.view import PostgresView
from infra.replay import replay
from interfaces.http.app import create_app
from tests.audio_factory import make_mp3, make_png, make_wav
from tests.conftest import make_settings
from tests.e2e.conftest import BIN
from tests.integration.accounts_helpers import Account, login, signup

EVENT_COLUMNS = "originator_id, originator_version, topic, state"


@dataclass
class Original:
    """The system backed up (still running) and its backup."""

    container: Container
    account: Account
    zone: dict[str, Any]
    tracks: list[dict[str, Any]]
    uploads: dict[str, bytes]  # track id: the bytes uploaded
    backup: Path
    seconds: float

    @property
    def database_url(self) -> str:
        return self.container.database_url

    @property
    def media_root(self) -> Path:
        return self.container.settings.media_root


@pytest.fixture(scope="module")
def original(servers: dict[str, str], redis_prefix: str,
             tmp_path_factory: pytest.TempPathFactory) -> Iterator[Original]:
    tmp = tmp_path_factory.mktemp("backup")
    with _database(servers, "s2g_backup") as url:
        container = bootstrap(make_settings(url, servers, f"{redis_prefix}orig:", tmp / "data"))
        try:
            with TestClient(create_app(container)) as client:
                account, zone, tracks, uploads = _store(client, tmp)
                _wait_for_read_models(container)
                with _turning_the_volume(client, account.auth, zone["id"]):
                    began = time.perf_counter()
                    done = _cli("backup", str(tmp / "backup"), env=_env(url, tmp / "data"),
                                cwd=tmp)
                    seconds = time.perf_counter() - began
                assert done.returncode == 0, done.stdout + done.stderr
                print(done.stdout)
                _wait_for_read_models(container)
                yield Original(container, account, zone, tracks, uploads, tmp / "backup",
                               seconds)
        finally:
            container.close()


def test_a_restored_backup_has_the_same_events_read_models_and_media(
        original: Original, own_database: str, servers: dict[str, str], redis_prefix: str,
        tmp_path: Path) -> None:
    manifest, data = read_manifest(original.backup), tmp_path / "restored"
    began = time.perf_counter()
    done = _cli("restore", str(original.backup), env=_env(own_database, data), cwd=tmp_path)
    seconds = time.perf_counter() - began
    assert done.returncode == 0, done.stdout + done.stderr
    assert "━━━━━" in done.stdout and "restored the backup of " in done.stdout

    assert set(manifest.events) == {"accounts", "library", "playback", "devices", "scheduling"}
    # The zone's volume was turned during the backup: the dump is of one moment amid it.
    assert manifest.events["playback"] < original.container.playback.recorder.max_notification_id()
    assert _event_tables(own_database) == _event_tables(original.database_url)
    for name, last in manifest.events.items():
        restored = _events(own_database, name)
        assert restored == _events(original.database_url, name, last), name
        assert (restored[-1][0] if restored else 0) == last

    # two tracks, a cover, its thumbnail, an announcement; and the waveforms of those
    # three measured by the time of the backup (a background job)
    waveforms = [key for key in manifest.media if "/waveforms/" in key]
    assert len(manifest.media) - len(waveforms) == 5 and len(waveforms) <= 3
    assert _hashes(data / "media") == _hashes(original.media_root) == manifest.media

    settings = make_settings(own_database, servers, f"{redis_prefix}restored:", data)
    checker = bootstrap(settings, start_projections=False, start_workers=False)
    try:
        report = replay(checker)
    finally:
        checker.close()
    stateful = {s.projection_class.name for s in checker.specs
                if issubclass(s.view_class, PostgresView)}
    assert {v.name for v in report.views} == stateful
    assert (report.differences, report.unverified) == (0, [])
    for view in report.views:  # a view may have lagged behind its events at that moment
        assert 0 < view.position <= manifest.events[view.application], view.name

    restored = bootstrap(settings)  # the whole system: its projections catch up, if behind
    try:
        _wait_for_read_models(restored)
        with TestClient(create_app(restored)) as client:
            _answers_as_the_original(client, original)
    finally:
        restored.close()
    size = sum(f.stat().st_size for f in original.backup.rglob("*") if f.is_file())
    print(f"\nbackup {original.seconds:.1f} s, restore {seconds:.1f} s (CLI, start-up "
          f"included); events up to {manifest.events}, {len(manifest.media)} media "
          f"files, {size / 1e6:.2f} MB (dump {(original.backup / manifest.dump).stat().st_size:,}"
          " bytes)")


def test_restore_into_a_database_holding_events_refuses_and_changes_nothing(
        original: Original, tmp_path: Path) -> None:
    before = _fingerprint(original.database_url)
    done = _cli("restore", str(original.backup),
                env=_env(original.database_url, tmp_path / "data"), cwd=tmp_path)
    assert done.returncode == 1, done.stdout + done.stderr
    message = done.stderr.strip()
    assert "\n" not in message and "already holds events" in message, message
    assert _fingerprint(original.database_url) == before
    assert _hashes(tmp_path / "data" / "media") == {}


def test_restore_of_a_tampered_media_hash_names_the_file_and_changes_nothing(
        original: Original, own_database: str, tmp_path: Path) -> None:
    tampered = tmp_path / "tampered"
    shutil.copytree(original.backup, tampered)
    manifest = json.loads((tampered / "manifest.json").read_text())
    key = sorted(manifest["media"])[-1]
    manifest["media"][key] = hashlib.sha256(b"something else").hexdigest()
    (tampered / "manifest.json").write_text(json.dumps(manifest))
    done = _cli("restore", str(tampered), env=_env(own_database, tmp_path / "data"),
                cwd=tmp_path)
    assert done.returncode == 1, done.stdout + done.stderr
    message = done.stderr.strip()
    assert "\n" not in message and f"media file {key} does not match" in message, message
    assert _fingerprint(own_database) == {}
    assert _hashes(tmp_path / "data" / "media") == {}


def test_a_backup_of_an_unknown_format_is_refused(tmp_path: Path) -> None:
    (tmp_path / "manifest.json").write_text(json.dumps({"format": 2, "dump": "x.sql.gz"}))
    with pytest.raises(BackupError, match="unknown format 2"):
        restore(tmp_path, "postgresql://nowhere.invalid/none", tmp_path / "media")


def test_a_backup_refuses_a_folder_that_is_not_empty(original: Original,
                                                     tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(BackupError, match="not an empty folder"):
        backup(original.database_url, original.media_root, tmp_path)
    assert [p.name for p in tmp_path.iterdir()] == ["notes.txt"]


# -- the store -------------------------------------------------------------------------


def _store(client: TestClient, tmp: Path
           ) -> tuple[Account, dict[str, Any], list[dict[str, Any]], dict[str, bytes]]:
    account = signup(client)
    auth = account.auth
    folder = client.post("/api/music/folders/", json={"name": "Day"}, headers=auth).json()
    # Long tracks: the playback clock advances no zone while the test runs.
    songs = [make_mp3(tmp / "one.mp3", 120, title="One", artist="Tester", cover=make_png()),
             make_mp3(tmp / "two.mp3", 150, title="Two", artist="Tester")]
    up = client.post("/api/music/upload/", headers=auth, data={"folder_id": folder["id"]},
                     files=[("files", (s.name, s.read_bytes(), "audio/mpeg")) for s in songs])
    assert up.status_code == 201, up.text
    created = up.json()["created"]
    uploads = {t["id"]: song.read_bytes() for t, song in zip(created, songs, strict=True)}
    tracks = [_until_ready(client, auth, t["id"], up) for t in created]
    speech = make_wav(tmp / "closing.wav", 3)
    ann = client.post("/api/announcements/upload/", headers=auth, data={"title": "Closing"},
                      files=[("file", (speech.name, speech.read_bytes(), "audio/wav"))])
    assert ann.status_code == 201, ann.text
    zone = client.post("/api/zones/", json={"name": "Floor"}, headers=auth).json()
    played = client.post("/api/playback/play/", headers=auth,
                         json={"zone_id": zone["id"], "folder_ids": [folder["id"]]})
    assert played.status_code == 200, played.text
    for _ in range(3):
        skipped = client.post("/api/playback/next/", json={"zone_id": zone["id"]}, headers=auth)
        assert skipped.status_code == 200, skipped.text
    schedule = client.post("/api/schedules/", headers=auth, json={
        "name": "Day music", "type": "music", "mode": "timeline", "folder_ids": [folder["id"]],
        "start_time": "08:00", "end_time": "20:00", "zone_ids": [zone["id"]]})
    assert schedule.status_code == 201, schedule.text
    code = client.post(f"/api/zones/{zone['id']}/pairing-code/", headers=auth).json()["code"]
    paired = client.post("/api/devices/pair/", json={
        "code": code, "device_id": "hw-1", "name": "Speaker", "device_type": "speaker"})
    assert paired.status_code == 201, paired.text
    return account, zone, tracks, uploads


def _until_ready(client: TestClient, auth: dict[str, str], track_id: str,
                 up: httpx.Response, timeout: float = 60) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    headers = {**auth, "X-Wait-For-Position": up.headers["X-Event-Position"]}
    while True:
        track: dict[str, Any] = client.get(f"/api/music/files/{track_id}/",
                                           headers=headers).json()
        if track["status"] != "processing":
            assert track["status"] == "ready", track
            return track
        assert time.monotonic() < deadline, track
        time.sleep(0.2)


@contextmanager
def _turning_the_volume(client: TestClient, auth: dict[str, str], zone_id: str) -> Iterator[None]:
    """The zone's volume changed again and again (each an event) until the block ends."""
    stop, answers = threading.Event(), []

    def turn() -> None:
        while not stop.is_set():
            answers.append(client.post("/api/playback/volume/", headers=auth, json={
                "zone_id": zone_id, "volume": 20 + len(answers) % 2 * 20}).status_code)

    thread = threading.Thread(target=turn)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()
    assert answers and set(answers) == {200}, answers


def _wait_for_read_models(container: Container, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while any(container.projection_lag().values()):
        assert time.monotonic() < deadline, container.projection_lag()
        time.sleep(0.1)


def _answers_as_the_original(client: TestClient, original: Original) -> None:
    account = login(client, original.account.email, original.account.password)
    zone = client.get(f"/api/zones/{original.zone['id']}/", headers=account.auth)
    assert zone.status_code == 200, zone.text
    assert (zone.json()["id"], zone.json()["name"]) == (original.zone["id"], "Floor")
    tracks = client.get("/api/music/files/", headers=account.auth).json()["results"]
    assert sorted((t["id"], t["title"], t["status"]) for t in tracks) == sorted(
        (t["id"], t["title"], t["status"]) for t in original.tracks)
    for track in tracks:
        url = httpx.URL(track["file"])
        downloaded = client.get(url.path, params=url.params)
        assert downloaded.status_code == 200, downloaded.text
        assert downloaded.content == original.uploads[track["id"]]
    me = client.get("/api/auth/me/", headers=original.account.auth)  # a session of before
    assert me.status_code == 200, me.text


# -- helpers ---------------------------------------------------------------------------


@contextmanager
def _database(servers: dict[str, str], prefix: str) -> Iterator[str]:
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(servers["database_url"], autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    info = {**conninfo_to_dict(servers["database_url"]), "dbname": name}
    try:
        yield make_conninfo(**{k: v for k, v in info.items() if v is not None})
    finally:
        with psycopg.connect(servers["database_url"], autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _env(database_url: str, data: Path) -> dict[str, str]:
    return {**os.environ, "ENVIRONMENT": "test", "DATABASE_URL": database_url,
            "DATA_DIR": str(data), "MEDIA_DIR": str(data / "media"), "STORAGE_BACKEND": "local",
            "LOG_LEVEL": "WARNING", "COLUMNS": "150"}


def _cli(*args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(BIN / "sync2gear"), *args], env=env, cwd=cwd,
                          capture_output=True, text=True, timeout=300)


def _event_tables(database_url: str) -> list[str]:
    with psycopg.connect(database_url) as conn:
        rows = conn.execute("SELECT table_name FROM information_schema.tables WHERE "
                            "table_schema = 'public' AND table_name LIKE '%\\_events' "
                            "ORDER BY 1").fetchall()
    return [row[0] for row in rows]


def _events(database_url: str, application: str, last: int = 2**62) -> list[tuple[Any, ...]]:
    query = sql.SQL("SELECT notification_id, {} FROM {} WHERE notification_id <= %s "
                    "ORDER BY notification_id").format(
        sql.SQL(EVENT_COLUMNS), sql.Identifier(f"{application}_events"))
    with psycopg.connect(database_url) as conn:
        return conn.execute(query, (last,)).fetchall()


def _fingerprint(database_url: str) -> dict[str, int]:
    """Every table's count of rows."""
    with psycopg.connect(database_url) as conn:
        tables = [row[0] for row in conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public'").fetchall()]
        found = {}
        for table in tables:
            row = conn.execute(sql.SQL("SELECT count(*) FROM {}").format(
                sql.Identifier(table))).fetchone()
            found[table] = int(row[0]) if row else 0
    return found


def _hashes(root: Path) -> dict[str, str]:
    return {path.relative_to(root).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()
            for path in sorted(root.rglob("*")) if path.is_file()} if root.exists() else {}
