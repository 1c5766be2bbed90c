"""Old snapshots never strand an aggregate; newer events are refused, never misread.

Each test runs the system on a database of its own: the "newer release" data it
writes would stop the shared database's projections.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from eventsourcing.persistence import StoredEvent
from fastapi.testclient import TestClient

from application.playback import PlaybackApplication
from application.versions import NewerStoredShape
from domain.base import Actor, CommandContext
from domain.zone import Zone
from infra.bootstrap import Container, bootstrap
from interfaces.http.app import create_app
from tests.conftest import make_settings
from tests.integration.accounts_helpers import signup

CTX = CommandContext(Actor.system("versions-test"), "versions-test")


@pytest.fixture
def container(own_database: str, servers: dict[str, str], tmp_path: Path) -> Iterator[Container]:
    c = bootstrap(make_settings(own_database, servers, f"s2g-versions-{uuid.uuid4().hex}:",
                                tmp_path), start_projections=False)
    yield c
    c.close()


def _snapshotted_zone(app: PlaybackApplication) -> uuid.UUID:
    """A zone with 130 events: a snapshot at version 100 and 30 events after it."""
    zone, _ = app.create_zone(CTX, uuid.uuid4(), name="Snapshotted")
    for volume in range(129):
        app.set_volume(CTX, None, zone.id, volume % 100 if volume % 100 != 70 else 1)
    assert [s.originator_version for s in app.snapshots.get(zone.id)] == [100]
    return zone.id


def _fresh(container: Container) -> PlaybackApplication:
    """Another process's application: nothing cached, it loads from the snapshot."""
    return PlaybackApplication(container.es_env)


def _replayed(app: PlaybackApplication, zone_id: uuid.UUID) -> Zone:
    zone: Any = None
    for event in app.events.get(zone_id):
        zone = event.mutate(zone)
    return zone


def _state(zone: Zone) -> dict[str, Any]:
    return {k: v for k, v in vars(zone).items() if k != "_pending_events"}


def _next_release(monkeypatch: pytest.MonkeyPatch,
                  upcast: Any = lambda state: state.update(balance=0)) -> None:
    """Zone as the next release would have it: one version more, one attribute more,
    and an upcast from today's version (on the class itself: eventsourcing redefines
    every event class in an aggregate's subclass, which then no longer applies the
    stored events)."""
    today = Zone.class_version
    monkeypatch.setattr(Zone, "class_version", today + 1)
    monkeypatch.setattr(Zone, f"upcast_v{today}_v{today + 1}", staticmethod(upcast),
                        raising=False)


def test_a_zone_loads_from_an_older_snapshot_through_its_upcast(
        container: Container, monkeypatch: pytest.MonkeyPatch) -> None:
    zone_id = _snapshotted_zone(container.playback)
    app = _fresh(container)
    _next_release(monkeypatch)
    loaded = app.repository.get(zone_id)
    expected = _replayed(app, zone_id)
    # and it accepts commands, saved after the old events
    zone, _ = app.set_volume(CTX, None, zone_id, 33)
    assert loaded.balance == 0  # type: ignore[attr-defined]
    assert {**_state(loaded), "balance": None} == {**_state(expected), "balance": None}
    assert zone.volume == 33 and zone.version == 131


def test_a_snapshot_of_a_newer_release_is_skipped_and_the_zone_replayed(
        container: Container, caplog: pytest.LogCaptureFixture) -> None:
    zone_id = _snapshotted_zone(container.playback)
    newer = Zone.class_version + 1
    _rewrite_snapshot(container, zone_id, lambda state: state.update(
        class_version=newer, balance=4))
    app = _fresh(container)
    with caplog.at_level(logging.WARNING, logger="application.versions"):
        loaded = app.get_zone(zone_id)
    assert _state(loaded) == _state(_replayed(app, zone_id))
    assert f"replaying its events instead: version {newer} of domain.zone:Zone" in caplog.text
    zone, _ = app.set_volume(CTX, None, zone_id, 12)
    assert zone.volume == 12


def test_a_snapshot_whose_upcast_fails_is_skipped(
        container: Container, monkeypatch: pytest.MonkeyPatch) -> None:
    zone_id = _snapshotted_zone(container.playback)
    _rewrite_snapshot(container, zone_id, lambda state: state.pop("queue"))
    app = _fresh(container)
    # an upcast that cannot read this snapshot (KeyError: it has no queue)
    _next_release(monkeypatch, lambda state: state.update(balance=len(state["queue"])))
    loaded = app.repository.get(zone_id)
    assert not hasattr(loaded, "balance")  # replayed from events: no snapshot state
    assert loaded.version == 130 and loaded.volume == _replayed(app, zone_id).volume


def test_a_command_meeting_a_newer_release_event_fails_clearly_and_writes_nothing(
        container: Container) -> None:
    with TestClient(create_app(container)) as client:
        account = signup(client)
        zone_id = client.post("/api/zones/", json={"name": "Rolling"},
                              headers=account.auth).json()["id"]
        recorder = container.playback.recorder
        [last] = recorder.select_events(uuid.UUID(zone_id), desc=True, limit=1)
        state = json.loads(last.state)
        newer = StoredEvent(originator_id=last.originator_id,
                            originator_version=last.originator_version + 1,
                            topic="domain.zone:Zone.CrossfadeSet",
                            state=json.dumps({**state, "class_version": 2}).encode())
        recorder.insert_events([newer])
        before = recorder.max_notification_id()

        answer = client.post("/api/playback/volume/", json={"zone_id": zone_id, "volume": 20},
                             headers=account.auth)
        assert answer.status_code == 503, answer.text
        assert answer.headers["content-type"] == "application/problem+json"
        assert answer.headers["retry-after"] == "5"
        assert answer.json()["detail"].startswith(
            "the data was written by a newer release of sync2gear (unknown type")
        assert recorder.max_notification_id() == before

        # a known type of a newer version is refused the same way
        [newest] = recorder.select_events(uuid.UUID(zone_id), desc=True, limit=1)
        with pytest.raises(NewerStoredShape, match="version 2 of domain.zone:Zone.VolumeChanged"):
            container.playback.mapper.to_domain_event(StoredEvent(
                originator_id=newest.originator_id, originator_version=newest.originator_version,
                topic="domain.zone:Zone.VolumeChanged",
                state=json.dumps({"volume": 3, "class_version": 2}).encode()))


def _rewrite_snapshot(container: Container, zone_id: uuid.UUID, change: Any) -> None:
    """Edit the stored snapshot's aggregate state (as another release would have written it)."""
    recorder: Any = container.playback.snapshots.recorder
    table = recorder.events_table_name
    with recorder.datastore.transaction(commit=True) as curs:
        curs.execute(f"SELECT state FROM {table} WHERE originator_id = %s", (zone_id,))
        row: Any = curs.fetchone()
        snapshot = json.loads(bytes(row["state"]))
        change(snapshot["state"])
        curs.execute(f"UPDATE {table} SET state = %s WHERE originator_id = %s",
                     (json.dumps(snapshot).encode(), zone_id))
