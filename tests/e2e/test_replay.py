"""`sync2gear replay` on a store of 100k events: every read model rebuilt, equal to the live one.

The store is made the way the system makes it: accounts, zones, folders,
schedules and devices through the API, then zone commands (skip, volume,
seek) and device presence changes saved in batches by the applications. A
real `sync2gear projections` process builds the live read models. The replay
runs in process while that process works (the live view moves on during it),
then as the real CLI. The test's database commits without waiting for the
disk (synchronous_commit off): durability is not under test here, and the live
runners commit every event. REPLAY_TEST_EVENTS=5000 makes a quick run.
"""
from __future__ import annotations

import os
import random
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from bench.projection_store import flip_presence
from domain.base import Actor, CommandContext, acting
from domain.playback import QueueItem
from infra.bootstrap import Container, bootstrap
from infra.postgres.view import PostgresView
from infra.projection_runner import leader_lock_key
from infra.replay import RunnersActive, rebuild_rate, replay
from interfaces.http.app import create_app
from tests.conftest import make_settings
from tests.e2e.conftest import BIN
from tests.integration.accounts_helpers import signup

EVENTS = int(os.environ.get("REPLAY_TEST_EVENTS", "100000"))
ZONE_SHARE, PROFILE_SHARE = 0.06, 0.44  # of the events; the rest: device presence changes
BATCH = 500
NEEDS_CONNECTIONS = 150  # embedded and compose servers allow 400
CTX = CommandContext(Actor.system("replay-test"), "replay-test")


@dataclass
class Store:
    container: Container
    env: dict[str, str]
    folder: Path
    events: int = 0
    schedule_id: str = ""
    runners: subprocess.Popen[bytes] | None = None

    def start_runners(self) -> None:
        """The live read models' `sync2gear projections` process (if not running)."""
        if self.runners is None:
            with open(self.folder / "runners.log", "ab") as log:
                self.runners = subprocess.Popen(
                    [str(BIN / "sync2gear"), "projections"], env=self.env, cwd=self.folder,
                    stdout=log, stderr=subprocess.STDOUT)

    def stop_runners(self) -> None:
        """Stopped, it also leaves its ~70 connections to a replay on a small server."""
        if self.runners is not None:
            self.runners.terminate()
            self.runners.wait(timeout=30)
            self.runners = None


@pytest.fixture(scope="module")
def database(servers: dict[str, str]) -> Iterator[str]:
    name = f"s2g_replay_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(servers["database_url"], autocommit=True) as conn:
        row = conn.execute("SHOW max_connections").fetchone()
        if row is None or int(row[0]) < NEEDS_CONNECTIONS:
            pytest.skip(f"PostgreSQL allows {row and row[0]} connections; this test holds "
                        "about 105 at once (a projections process alone, 73)")
        conn.execute(f'CREATE DATABASE "{name}"')
        conn.execute(f'ALTER DATABASE "{name}" SET synchronous_commit = off')
    info = {**conninfo_to_dict(servers["database_url"]), "dbname": name}
    yield make_conninfo(**{k: v for k, v in info.items() if v is not None})
    with psycopg.connect(servers["database_url"], autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="module")
def store(database: str, servers: dict[str, str], redis_prefix: str,
          tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    tmp = tmp_path_factory.mktemp("replay")
    settings = make_settings(database, servers, redis_prefix, tmp, projections_in_process=False,
                             workers_in_process=False, db_max_overflow=1)
    container = bootstrap(settings, start_projections=False, start_workers=False)
    env = {**os.environ, "ENVIRONMENT": "test", "DATABASE_URL": database,
           "REDIS_URL": servers["redis_url"], "REDIS_PREFIX": redis_prefix,
           "DATA_DIR": str(tmp / "data"), "LOG_LEVEL": "WARNING", "DB_POOL_SIZE": "1",
           "DB_MAX_OVERFLOW": "1", "SCHEDULER_IN_PROCESS": "false",
           "PRESENCE_SWEEP_SECONDS": "86400"}  # nothing but this test writes events
    store = Store(container, env, tmp)
    store.start_runners()
    try:
        began = time.perf_counter()
        with TestClient(create_app(container)) as client:
            users, zones, devices, store.schedule_id = _through_the_api(client, container)
        _drive_zones(container, zones, int(EVENTS * ZONE_SHARE))
        _edit_profiles(container, users, int(EVENTS * PROFILE_SHARE))
        _flip_devices(container, devices, EVENTS - _stored(container))
        made, store.events = time.perf_counter() - began, _stored(container)
        _wait_for_live(container, timeout=600)
        print(f"\n{store.events:,} events stored in {made:.1f} s; live read models "
              f"caught up after {time.perf_counter() - began:.1f} s")
        yield store
    finally:
        store.stop_runners()
        container.close()


def _through_the_api(client: TestClient, container: Container
                     ) -> tuple[list[uuid.UUID], list[uuid.UUID], list[uuid.UUID], str]:
    """Two clients, each with a user, a zone, a folder, a schedule and five devices."""
    users, zones, devices, schedule_id = [], [], [], ""
    for n in range(2):
        account = signup(client)
        auth = account.auth
        users.append(uuid.UUID(account.user_id))
        zone = client.post("/api/zones/", json={"name": f"Floor {n}"}, headers=auth)
        assert zone.status_code == 201, zone.text
        zones.append(uuid.UUID(zone.json()["id"]))
        folder = client.post("/api/music/folders/", json={"name": "Day"}, headers=auth)
        assert folder.status_code == 201, folder.text
        container.wait("library_view", int(folder.headers["X-Event-Position"]), timeout=60)
        schedule = client.post("/api/schedules/", headers=auth, json={
            "name": "Day music", "type": "music", "mode": "timeline",
            "folder_ids": [folder.json()["id"]], "start_time": "08:00", "end_time": "20:00",
            "zone_ids": [zone.json()["id"]]})
        assert schedule.status_code == 201, schedule.text
        schedule_id = schedule.json()["id"]
        for d in range(5):
            device = client.post("/api/devices/register/", headers=auth, json={
                "device_id": f"hw-{uuid.uuid4().hex[:12]}", "name": f"Speaker {d}",
                "device_type": "web", "zone": zone.json()["id"]})
            assert device.status_code == 201, device.text
            devices.append(uuid.UUID(device.json()["id"]))
    return users, zones, devices, schedule_id


def _drive_zones(container: Container, zone_ids: list[uuid.UUID], events: int) -> None:
    """Play hour-long tracks (the live ticker never has to step in), then skip,
    change volume and seek at random, saving every BATCH events."""
    app, rng = container.playback, random.Random(1)
    items = [QueueItem(uuid.uuid4(), 3_600_000, f"media/{i}", "audio/mpeg", f"Track {i}",
                       "Artist") for i in range(6)]
    zones = [app.get_zone(zone_id) for zone_id in zone_ids]
    with acting(CTX):
        for zone in zones:
            zone.play(items, shuffle=True, source={"folder_ids": []}, rng=rng,
                      now=datetime.now(UTC))
        for done in range(0, events, BATCH):
            for _ in range(min(BATCH, events - done)):
                zone, now, pick = rng.choice(zones), datetime.now(UTC), rng.randrange(10)
                if pick < 3:
                    zone.next(now, rng)
                elif pick < 7:
                    zone.set_volume(rng.choice([v for v in (20, 40, 60, 80)
                                                if v != zone.volume]))
                else:
                    zone.seek(rng.randrange(3_000_000), now)
            app.save(*zones)


def _edit_profiles(container: Container, user_ids: list[uuid.UUID], events: int) -> None:
    """Users change their phone numbers (each projection runner works on its own
    application's events: spreading them lets the live runners work side by side)."""
    app = container.accounts
    users = [app.get_user(user_id) for user_id in user_ids]
    with acting(CTX):
        for done in range(0, events, BATCH):
            for n in range(done, min(done + BATCH, events)):
                users[n % len(users)].update_profile(phone=f"+1555{n:07d}")
            app.save(*users)


def _flip_devices(container: Container, device_ids: list[uuid.UUID], events: int) -> None:
    app, rng = container.devices, random.Random(2)
    devices, at = [app.get_device(device_id) for device_id in device_ids], datetime.now(UTC)
    with acting(CTX):
        flip_presence(container, devices, events, BATCH, rng, at)


def _stored(container: Container) -> int:
    return sum(app.recorder.max_notification_id() or 0 for app in (
        container.accounts, container.library, container.playback, container.devices,
        container.scheduling))


def _wait_for_live(container: Container, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while any(container.projection_lag().values()):
        assert time.monotonic() < deadline, container.projection_lag()
        time.sleep(0.5)


def test_replay_catches_up_with_a_moving_live_view_and_reports_exactly_a_corrupted_row(
        store: Store) -> None:
    container, url = store.container, store.container.database_url
    schedule_id, moved = uuid.UUID(store.schedule_id), []
    store.start_runners()
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("UPDATE schedules_v2 SET name = 'Tampered' WHERE id = %s", (schedule_id,))

    def meanwhile(name: str, events: int, position: int, target: int) -> None:
        """After the first page, the live view moves on (the schedule is switched)."""
        if name == "schedules_view" and not moved:
            _, at = container.scheduling.toggle(CTX, None, schedule_id)
            container.wait("schedules_view", at, timeout=30)
            moved.append(at)

    try:
        report = replay(container, views=["schedules_view", "library_view"],
                        on_progress=meanwhile)
    finally:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("UPDATE schedules_v2 SET name = 'Day music' WHERE id = %s",
                         (schedule_id,))
    views = {v.name: v for v in report.views}
    schedules, library = views["schedules_view"], views["library_view"]
    assert (schedules.position, schedules.verified, library.differences) == (moved[0], True, 0)
    (check,) = [t for t in schedules.tables if t.differences]
    assert (check.table, check.live_only, check.rebuilt_only) == ("schedules_v2", 1, 1)
    sides: dict[str, Any] = dict(check.samples)
    assert sides["live"]["id"] == sides["rebuilt"]["id"] == schedule_id
    assert (sides["live"]["name"], sides["rebuilt"]["name"]) == ("Tampered", "Day music")
    is_active = container.scheduling.get_schedule(schedule_id).is_active
    assert sides["live"]["is_active"] is sides["rebuilt"]["is_active"] is is_active
    assert report.differences == 2


def test_replay_rebuilds_every_read_model_equal_to_the_live_one(
        store: Store, tmp_path: Path) -> None:
    assert store.events >= EVENTS
    store.stop_runners()
    began = time.perf_counter()
    done = subprocess.run([str(BIN / "sync2gear"), "replay"], env={**store.env, "COLUMNS": "150"},
                          cwd=tmp_path, capture_output=True, text=True, timeout=600)
    seconds = time.perf_counter() - began
    print(done.stdout)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "━━━━━" in done.stdout  # the progress bars, finished
    assert "\n0 differences (scratch schema replay_" in done.stdout
    for spec in store.container.specs:  # every read model, a line each
        if issubclass(spec.view_class, PostgresView):
            assert f"│ {spec.projection_class.name} " in done.stdout
    assert "side effects, not replayed: media_jobs, live_zone_state, queue_cleanup" in done.stdout
    print(f"sync2gear replay: {store.events:,} events in {seconds:.1f} s (with start-up)")


def test_in_place_replay_refuses_a_running_projection_then_repairs_the_live_views(
        store: Store) -> None:
    container, url = store.container, store.container.database_url
    store.stop_runners()
    with psycopg.connect(url, autocommit=True) as runner:  # as a runner holds its lock
        runner.execute("SELECT pg_advisory_lock(%s)", (leader_lock_key("schedules_view_v2"),))
        with pytest.raises(RunnersActive, match="schedules_view"):
            replay(container, in_place=True, views=["schedules_view", "live_zone_state"])
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("UPDATE schedules_v2 SET name = 'Tampered'")
        conn.execute("DELETE FROM live_zone_state_tracking")
    report = replay(container, in_place=True, views=["schedules_view", "live_zone_state"])
    assert report.advanced == {"live_zone_state": container.playback.recorder
                               .max_notification_id()}
    row = container.schedules_view.get_schedule(uuid.UUID(store.schedule_id))
    assert row is not None and row["name"] == "Day music"
    again = replay(container, views=["schedules_view"])
    assert (again.differences, again.unverified) == (0, [])


def test_rebuild_rate_rebuilds_an_applications_read_models_for_the_bench(store: Store) -> None:
    events, seconds = rebuild_rate(store.container, store.container.scheduling.name)
    stored = store.container.scheduling.recorder.max_notification_id()
    assert (events, seconds > 0) == (stored, True)
