"""Read-model migrations (issue 14): a release that changes a view builds the new
version from the events beside the old one, then switches, with no manual step
and no downtime for reads.

Two releases run side by side on one database, as in a rolling upgrade: the
release before (every view at version 1) with its projection runners, and the
next one, whose zones view is at version 2 (an extra column, filled from the
events). The next release's zones view is built from every event while the old
one keeps answering; its `/api/ready/` is 503 until then; once both run, each
keeps its own version up to date; the old version's tables go only on request,
once no runner of the old release leads it.
"""

from __future__ import annotations

import logging
import os
import random
import re
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
import pytest
from eventsourcing.persistence import Tracking
from fastapi.testclient import TestClient

from domain.base import Actor, CommandContext, acting
from domain.playback import QueueItem
from infra import projected_view
from infra.bootstrap import Container, bootstrap
from infra.postgres.accounts_view import PostgresAccountsView
from infra.postgres.devices_view import PostgresDevicesView
from infra.postgres.history_view import PostgresZoneHistoryView
from infra.postgres.library_view import PostgresLibraryView
from infra.postgres.names import tracking_table_name
from infra.postgres.schedules_view import PostgresSchedulesView
from infra.postgres.view import PostgresView, Row
from infra.postgres.zones_view import PostgresZonesView
from infra.projection_runner import start_engine
from infra.replay import replay
from infra.ticker import LeaderLoop
from infra.view_versions import SupersededInUse
from interfaces.http.app import create_app
from tests.conftest import make_settings
from tests.integration.accounts_helpers import signup

EVENTS = int(os.environ.get("VIEW_MIGRATION_TEST_EVENTS", "12000"))
CTX = CommandContext(Actor.system("view-migration-test"), "view-migration-test")


class ZonesViewNext(PostgresZonesView):
    """The next release's zones view: each zone's queue length in a column of its own."""

    schema_version = PostgresZonesView.schema_version + 1
    ddl = (
        """CREATE TABLE IF NOT EXISTS {schema}.playback_zones (
            id uuid PRIMARY KEY, client_id uuid NOT NULL, name text NOT NULL,
            description text NOT NULL DEFAULT '', default_volume integer NOT NULL,
            volume integer NOT NULL, timezone text NOT NULL, is_active boolean NOT NULL,
            is_playing boolean NOT NULL, version integer NOT NULL, state jsonb NOT NULL,
            queue jsonb NOT NULL, queue_length integer NOT NULL, ends_at timestamptz,
            schedule jsonb NOT NULL DEFAULT '{{}}',
            crossfade_s integer NOT NULL, ducking text NOT NULL, duck_level integer NOT NULL,
            target_lufs double precision NOT NULL,
            announcement_lift_lu double precision NOT NULL,
            created_at timestamptz NOT NULL, updated_at timestamptz NOT NULL)""",
        "CREATE INDEX IF NOT EXISTS playback_zones_client_idx"
        " ON {schema}.playback_zones (client_id, name)",
        "CREATE INDEX IF NOT EXISTS playback_zones_ends_idx"
        " ON {schema}.playback_zones (ends_at) WHERE ends_at IS NOT NULL",
    )

    def save_zone(self, row: Row, tracking: Tracking) -> None:
        if "queue" in row:
            row = {**row, "queue_length": len(row["queue"])}
        super().save_zone(row, tracking)

    def longest_queues(self, limit: int) -> list[Row]:
        with self.datastore.transaction(commit=False) as curs:
            curs.execute(self._q("SELECT id, queue_length FROM {schema}.playback_zones"
                                 " ORDER BY queue_length DESC, id LIMIT %(n)s"), {"n": limit})
            return [dict(r) for r in curs.fetchall()]


NEXT_RELEASE: dict[type[PostgresView], type[PostgresView]] = {PostgresZonesView: ZonesViewNext}


@pytest.fixture
def release(own_database: str, servers: dict[str, str], tmp_path: Path) -> Iterator[Any]:
    """Starts a release (its container) on the test's database; closes them all after."""
    started: list[Container] = []
    prefix = f"s2g-test-{uuid.uuid4().hex[:12]}:"

    def start(name: str, **kwargs: Any) -> Container:
        settings = make_settings(own_database, servers, prefix, tmp_path / name,
                                 workers_in_process=False)
        container = bootstrap(settings, **kwargs)
        started.append(container)
        return container

    yield start
    for container in started:
        container.close()


def test_version_1_keeps_every_relation_name_it_had() -> None:
    for view, (projection, tables, tracking) in VERSION_1.items():
        assert view.schema_version == 1
        assert (view.table_names(), tracking_table_name(projection, view)) == (tables, tracking)
        assert [view.versioned_sql(statement) for statement in view.ddl] == list(view.ddl)
    # the zones view is at version 2 (issue 15: the zones' sound settings)
    assert PostgresZonesView.table_names() == ("playback_zones_v2",)
    assert tracking_table_name("zones_view", PostgresZonesView) == "zones_view_tracking_v2"
    # issue 15: users' avatars; folders' and schedules' created_by, system folders;
    # issue 16: clients' plans, live sessions and pairing codes (housekeeping)
    for view, projection in ((PostgresAccountsView, "accounts_view"),
                             (PostgresLibraryView, "library_view"),
                             (PostgresSchedulesView, "schedules_view"),
                             (PostgresDevicesView, "devices_view")):
        assert view.schema_version == 2
        assert tracking_table_name(projection, view) == f"{projection}_tracking_v2"
    assert PostgresSchedulesView.table_names() == ("schedules_v2",)
    assert PostgresDevicesView.table_names() == ("devices_v2", "devices_pairing_codes_v2")


def test_version_2_suffixes_the_tables_indexes_and_tracking_table_of_its_view() -> None:
    assert ZonesViewNext.table_names() == ("playback_zones_v3",)
    assert tracking_table_name("zones_view", ZonesViewNext) == "zones_view_tracking_v3"
    assert ZonesViewNext.versioned_sql(ZonesViewNext.ddl[1]) == (
        "CREATE INDEX IF NOT EXISTS playback_zones_client_idx_v3"
        " ON {schema}.playback_zones_v3 (client_id, name)")
    assert ZonesViewNext.versioned_sql(  # another view's table keeps its name
        "SELECT * FROM {schema}.playback_zones JOIN {schema}.devices USING (id)") == (
        "SELECT * FROM {schema}.playback_zones_v3 JOIN {schema}.devices USING (id)")


def test_a_fresh_database_has_the_relations_it_always_had(release: Any,
                                                           own_database: str) -> None:
    container = release("v1", start_projections=False)
    assert sorted((s.name, s.tracking_table) for s in container.specs) == sorted(
        (name, f"{name}_tracking".replace("_v2_tracking", "_tracking_v2")) for name in (
            "accounts_view_v2", "library_view_v2", "media_jobs", "zones_view_v2",
            "live_zone_state", "queue_cleanup", "devices_view_v2", "schedules_view_v2",
            "zone_history",
            "session_state_accounts", "session_state_devices"))
    with psycopg.connect(own_database) as conn:
        found = {r[0] for r in conn.execute(
            "SELECT relname FROM pg_class JOIN pg_namespace n ON n.oid = relnamespace"
            " WHERE nspname = 'public' AND relkind IN ('r', 'i')")}
    assert RELATIONS | {"s2g_views", "s2g_views_pkey"} <= found
    versioned = {name for name in found if re.search(r"_v\d+(_|$)", name)}
    assert versioned <= RELATIONS  # only the current version of each view


def test_a_release_that_changes_a_view_builds_it_beside_the_old_one_then_switches(
        release: Any, own_database: str, caplog: pytest.LogCaptureFixture,
        monkeypatch: pytest.MonkeyPatch) -> None:
    caplog.set_level(logging.INFO)
    monkeypatch.setattr(projected_view, "PROGRESS_SECONDS", 0.05)
    old = release("v1")
    with TestClient(create_app(old)) as old_http:
        auth = signup(old_http).auth
        zone_ids = [uuid.UUID(old_http.post("/api/zones/", json={"name": f"Floor {n}"},
                                            headers=auth).json()["id"]) for n in range(3)]
        _drive_zones(old, zone_ids, EVENTS)
        head = _caught_up(old)
        v1_rows = _rows(own_database, "playback_zones_v2")

        new = release("v2", views=NEXT_RELEASE, start_projections=False)
        with TestClient(create_app(new)) as new_http:
            # Before its runners start: v2 exists, empty, and the release is not ready.
            waiting = new_http.get("/api/ready/")
            assert waiting.status_code == 503, waiting.text
            assert waiting.json()["building"] == ["zones_view_v3"]
            assert waiting.json()["checks"]["building"]["zones_view_v3"] == {
                "view": "zones_view", "version": 3, "application": "playback",
                "position": 0, "head": head, "behind": head}
            assert waiting.json()["down"] == []
            assert _rows(own_database, "playback_zones_v3") == []

            began = time.monotonic()
            new.start_projections()
            new.start_clock(("playback-ticker",))
            ready = _until_ready(new_http, old_http, auth)
            seconds = time.monotonic() - began
            print(f"\nzones view v3: {head:,} events built in {seconds:.1f} s "
                  f"({head / seconds:,.0f}/s, the old release answering meanwhile)")
            assert ready["building"] == [] and "zones_view_v3" in ready["checks"]["runners"]

            # v2 holds what v1 holds, plus its new column; v1 was not touched.
            assert _rows(own_database, "playback_zones_v2") == v1_rows
            assert _rows(own_database, "playback_zones_v3", exclude="queue_length") == v1_rows
            assert all(r["queue_length"] == 6 for r in new.zones_view.longest_queues(10))
            assert _tracking(own_database, "zones_view_tracking_v3") == head
            _assert_progress_logged([r.getMessage() for r in caplog.records], head)

            # Both releases live: each keeps its own version up to date.
            moved = old_http.post("/api/playback/volume/", headers=auth,
                                  json={"zone_id": str(zone_ids[0]), "volume": 7})
            assert moved.status_code == 200, moved.text
            position = int(moved.headers["X-Event-Position"])
            old.wait("zones_view", position, timeout=30)
            new.wait("zones_view", position, timeout=30)
            for http in (old_http, new_http):
                zone = http.get(f"/api/zones/{zone_ids[0]}/", headers=auth)
                assert zone.status_code == 200 and zone.json()["volume"] == 7, zone.text

            # A fresh rebuild of v2 from the events gives exactly its rows.
            checker = release("check", views=NEXT_RELEASE, start_projections=False)
            report = replay(checker, views=["zones_view"])
            (result,) = report.views
            assert (result.verified, result.differences) == (True, 0), result
            assert [t.table for t in result.tables] == ["playback_zones_v3"]

            states = {(s.view, s.version): s
                      for s in new.view_versions.describe()}
            v1, v2 = states[("zones_view", 2)], states[("zones_view", 3)]
            assert (v1.superseded, v1.current, v1.built, v1.lag) == (True, False, True, 0)
            assert (v2.superseded, v2.current, v2.built, v2.lag) == (False, True, True, 0)
            assert v1.existing == ("playback_zones_v2", "zones_view_tracking_v2")
            assert v2.existing == ("playback_zones_v3", "zones_view_tracking_v3")
            assert [n for n, s in states.items() if s.superseded] == [("zones_view", 2)]

            # v1 is dropped only on request, and not while an old runner leads it.
            with pytest.raises(SupersededInUse, match="zones_view"):
                new.view_versions.drop_superseded()
            assert _exists(own_database, "playback_zones_v2")
    old.close()

    assert new.view_versions.drop_superseded() == ["playback_zones_v2", "zones_view_tracking_v2"]
    assert not _exists(own_database, "playback_zones_v2", "zones_view_tracking_v2",
                       "playback_zones_client_idx_v2")
    assert _exists(own_database, "playback_zones_v3", "zones_view_tracking_v3",
                   "playback_zones_client_idx_v3", "zone_history", "zone_history_tracking")
    assert [(s.view, s.version) for s in new.view_versions.describe()
            if s.view == "zones_view"] == [("zones_view", 3)]
    assert new.view_versions.drop_superseded() == []
    with TestClient(create_app(new)) as new_http:
        assert new_http.get("/api/ready/").status_code == 200
        assert new_http.get("/api/zones/", headers=auth).json()["count"] == 3


def test_while_a_view_is_building_side_effects_and_loops_stand_by(
        release: Any, own_database: str) -> None:
    container = release("v1", start_projections=False)
    runners = start_engine(container.specs, container.es_env, own_database,
                           views_built=lambda: False)
    ticker = LeaderLoop("playback-ticker", own_database, 0.1, lambda: None,
                        views_built=lambda: False)
    ticker.start()
    container.projections.extend(runners)
    container.loops.append(ticker)
    states = _until_settled(container)
    effects = {s.name for s in container.specs if not s.stateful}
    assert {n for n, state in states.items() if state == "standby"} == effects | {
        "playback-ticker"}, states
    assert {n for n, state in states.items() if state == "running"} == {
        s.name for s in container.specs if s.stateful} | {f.name for f in runners
                                                           if f.name.endswith("-follower")}


# -- helpers -----------------------------------------------------------------------------


def _drive_zones(container: Container, zone_ids: list[uuid.UUID], events: int) -> None:
    """Play hour-long tracks (the clock never steps in), then change volumes and seek
    at random, saving every 500 events."""
    app, rng = container.playback, random.Random(1)
    items = [QueueItem(uuid.uuid4(), 3_600_000, f"media/{i}", "audio/mpeg", f"Track {i}")
             for i in range(6)]
    zones = [app.get_zone(zone_id) for zone_id in zone_ids]
    with acting(CTX):
        for zone in zones:
            zone.play(items, shuffle=False, source={"folder_ids": []}, rng=rng,
                      now=datetime.now(UTC))
        for done in range(0, events, 500):
            for _ in range(min(500, events - done)):
                zone = rng.choice(zones)
                if rng.random() < 0.5:
                    zone.set_volume(rng.choice([v for v in (20, 40, 60) if v != zone.volume]))
                else:
                    zone.seek(rng.randrange(3_000_000), datetime.now(UTC))
            app.save(*zones)


def _until_ready(new_http: TestClient, old_http: TestClient, auth: dict[str, str],
                 timeout: float = 120) -> dict[str, Any]:
    """Poll the new release's readiness: 503 while its zones view builds, meanwhile
    the old release answers from the old version; the body of the first 200."""
    deadline = time.monotonic() + timeout
    while (ready := new_http.get("/api/ready/")).status_code == 503:
        assert ready.json()["building"] == ["zones_view_v3"], ready.text
        listed = old_http.get("/api/zones/", headers=auth)
        assert listed.status_code == 200 and listed.json()["count"] == 3, listed.text
        assert time.monotonic() < deadline, ready.text
        time.sleep(0.2)
    assert ready.status_code == 200, ready.text
    body: dict[str, Any] = ready.json()
    return body


def _assert_progress_logged(messages: list[str], head: int) -> None:
    """`zones_view v3: 12,006 events behind …`, `zones_view v3: 3,000/12,006 events,
    9,000/s`, …, `zones_view v3: caught up at 12,006 (…)`."""
    mine = [m for m in messages if m.startswith("zones_view v3: ")]
    assert any(" events behind " in m for m in mine), messages
    assert any(f"/{head:,} events, " in m and m.endswith("/s") for m in mine), messages
    assert any(m.startswith(f"zones_view v3: caught up at {head:,}") for m in mine), messages


def _caught_up(container: Container, timeout: float = 120) -> int:
    deadline = time.monotonic() + timeout
    while any(container.projection_lag().values()):
        assert time.monotonic() < deadline, container.projection_lag()
        time.sleep(0.1)
    return container.playback.recorder.max_notification_id() or 0


def _until_settled(container: Container, timeout: float = 30) -> dict[str, str]:
    deadline = time.monotonic() + timeout
    while True:
        states = {s.name: s.status().state
                  for s in [*container.projections, *container.loops]}
        if "starting" not in states.values():
            return states
        assert time.monotonic() < deadline, states
        time.sleep(0.1)


def _rows(url: str, table: str, exclude: str = "") -> list[dict[str, Any]]:
    with psycopg.connect(url, row_factory=psycopg.rows.dict_row) as conn:
        rows = conn.execute(f"SELECT * FROM {table} ORDER BY id").fetchall()
    return [{k: v for k, v in r.items() if k != exclude} for r in rows]


def _tracking(url: str, table: str) -> int:
    with psycopg.connect(url) as conn:
        row = conn.execute(f"SELECT notification_id FROM {table}"
                           " WHERE application_name = 'playback'").fetchone()
    return int(row[0]) if row else 0


def _exists(url: str, *names: str) -> bool:
    with psycopg.connect(url) as conn:
        return all(conn.execute("SELECT to_regclass(%s)", (name,)).fetchone() != (None,)
                   for name in names)


# Today's names (issue 14): version 1 of every view keeps them, so existing databases
# need no change at all.
VERSION_1: dict[type[PostgresView], tuple[str, tuple[str, ...], str]] = {
    PostgresZoneHistoryView: ("zone_history", ("zone_history", "zone_plays"),
                              "zone_history_tracking"),
}
RELATIONS = {
    "accounts_clients_v2", "accounts_clients_v2_pkey", "accounts_users_v2",
    "accounts_users_v2_pkey", "accounts_users_client_idx_v2", "accounts_view_tracking_v2",
    "accounts_view_tracking_v2_pkey", "accounts_sessions_v2", "accounts_sessions_v2_pkey",
    "accounts_sessions_refreshed_idx_v2",
    "devices_v2", "devices_v2_pkey", "devices_client_idx_v2", "devices_hardware_idx_v2",
    "devices_online_idx_v2", "devices_pairing_codes_v2", "devices_pairing_codes_v2_pkey",
    "devices_pairing_codes_unused_idx_v2", "devices_view_tracking_v2",
    "devices_view_tracking_v2_pkey",
    "library_announcements_v2", "library_announcements_v2_pkey",
    "library_announcements_client_idx_v2", "library_folders_v2", "library_folders_v2_pkey",
    "library_folders_client_idx_v2", "library_storage_v2", "library_storage_v2_pkey",
    "library_storage_v2_client_id_key", "library_tracks_v2", "library_tracks_v2_pkey",
    "library_tracks_client_idx_v2", "library_tracks_folder_idx_v2",
    "library_tracks_search_idx_v2", "library_view_tracking_v2",
    "library_view_tracking_v2_pkey", "live_zone_state_tracking",
    "live_zone_state_tracking_pkey", "media_jobs_tracking", "media_jobs_tracking_pkey",
    "playback_zones_v2", "playback_zones_v2_pkey", "playback_zones_client_idx_v2",
    "playback_zones_ends_idx_v2", "queue_cleanup_tracking", "queue_cleanup_tracking_pkey",
    "schedules_v2", "schedules_v2_pkey", "schedules_client_idx_v2", "schedules_zones_idx_v2",
    "schedules_view_tracking_v2", "schedules_view_tracking_v2_pkey",
    "session_state_accounts_tracking", "session_state_accounts_tracking_pkey",
    "session_state_devices_tracking", "session_state_devices_tracking_pkey",
    "zone_history", "zone_history_pkey", "zone_history_at_idx",
    "zone_history_decisions_idx", "zone_history_tracking",
    "zone_history_tracking_pkey", "zone_plays", "zone_plays_pkey", "zone_plays_client_idx",
    "zone_plays_open_idx", "zone_plays_zone_idx", "zones_view_tracking_v2",
    "zones_view_tracking_v2_pkey",
}
