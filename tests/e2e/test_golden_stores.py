"""Today's code on every golden store (tests/golden/README.md).

Each store is a backup made by an earlier release (`python -m tests.golden.make_store`)
with the facts that release saw. It is restored into a database and media folder of
the test's own, and today's code, started on it with the store's secrets, must read
everything as it was written (through the HTTP API, sockets and media URLs included;
the zone from its snapshot), accept new commands on the old aggregates, and rebuild
every read model from the old events equal to the one restored.
"""

from __future__ import annotations

import hashlib
import json
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from uuid import UUID

import psycopg
import pytest
from fastapi.testclient import TestClient

from domain.live_state import queue_of, zone_state
from domain.shapes import load_catalogue
from infra.backup import restore
from infra.bootstrap import Container, bootstrap
from infra.replay import replay
from infra.settings import Settings
from interfaces.http.app import create_app
from tests.audio_factory import make_mp3
from tests.conftest import make_settings
from tests.golden.api import Api
from tests.golden.observe import decisions, observe, shaped_like

STORES = sorted(p.parent for p in (Path(__file__).parents[1] / "golden" / "stores")
                .glob("*/facts.json"))
READY_TIMEOUT = 60.0


def test_the_newest_golden_store_was_made_with_todays_stored_shapes() -> None:
    """A release that changes a stored shape adds a golden store (tests/golden/README.md)."""
    newest = STORES[-1]
    made_with = json.loads((newest / "stored_shapes.json").read_text())
    assert made_with == load_catalogue(), (
        f"the stored shapes changed since the newest golden store ({newest.name}): make"
        " one with this release, `python -m tests.golden.make_store tests/golden/stores/"
        "<date>`, and keep the old ones")


@dataclass
class Restored:
    store: Path
    facts: dict[str, Any]
    settings: Settings
    tmp: Path

    @property
    def zone_id(self) -> str:
        return str(self.facts["zone"]["id"])

    @property
    def people(self) -> dict[str, Any]:
        return dict(self.facts["people"])

    @contextmanager
    def started(self, *, clock: bool) -> Iterator[tuple[Container, TestClient]]:
        """Today's code serving the store: read models projected; with `clock`, the
        playback ticker and presence sweeper too (workers always, for new uploads)."""
        container = bootstrap(self.settings, start_projections=clock, start_workers=True)
        try:
            if not clock:
                container.start_projections()
            _caught_up(container)
            with TestClient(create_app(container)) as http:
                yield container, http
        finally:
            container.close()


def _caught_up(container: Container) -> None:
    """Wait until every read model has processed every stored event: a store made by
    an older release holds older versions of some views, whose new versions today's
    code builds from the first event. (A load balancer waits for /api/ready/, but a
    store this small counts as built at once: the test waits for the views themselves.)"""
    deadline = time.monotonic() + READY_TIMEOUT
    while lag := {name: behind for name, behind in container.projection_lag().items()
                  if behind > 0}:
        assert time.monotonic() < deadline, f"read models still behind: {lag}"
        time.sleep(0.05)


@pytest.fixture(params=STORES, ids=[p.name for p in STORES])
def restored(request: pytest.FixtureRequest, own_database: str, servers: dict[str, str],
             redis_prefix: str, tmp_path: Path) -> Restored:
    store: Path = request.param
    facts = json.loads((store / "facts.json").read_text())
    settings = make_settings(own_database, servers, f"{redis_prefix}{uuid.uuid4().hex[:8]}:",
                             tmp_path / "data", **facts["secrets"])
    manifest = restore(store, own_database, settings.media_root)
    assert manifest.events == facts["events"]
    return Restored(store, facts, settings, tmp_path)


def test_every_read_model_rebuilt_from_a_golden_stores_events_equals_the_restored_one(
        restored: Restored) -> None:
    _rebuilt_views_equal_live_ones(restored)


def _rebuilt_views_equal_live_ones(restored: Restored) -> None:
    """`sync2gear replay`'s check: each read model rebuilt from the events into a
    scratch schema equals the live one, row for row."""
    container = bootstrap(restored.settings, start_projections=False, start_workers=False)
    try:
        report = replay(container)
    finally:
        container.close()
    assert report.views and report.unverified == []
    assert {v.name: v.differences for v in report.views if v.differences} == {}


def test_a_golden_stores_zone_is_loaded_from_its_snapshot_as_its_events_say(
        restored: Restored) -> None:
    zone_id = UUID(restored.zone_id)
    with psycopg.connect(restored.settings.database_url or "") as conn:
        versions = [r[0] for r in conn.execute(
            "SELECT originator_version FROM playback_snapshots WHERE originator_id = %s"
            " ORDER BY 1", (zone_id,))]
    assert versions == restored.facts["zone_snapshots"]
    container = bootstrap(restored.settings, start_projections=False, start_workers=False)
    try:
        app = container.playback
        assert app.snapshots is not None
        (snapshot,) = app.snapshots.get(zone_id, desc=True, limit=1)
        from_snapshot = snapshot.mutate(None)  # type: ignore[attr-defined]
        replayed = None
        for event in app.events.get(zone_id, lte=snapshot.originator_version):
            replayed = event.mutate(replayed)  # type: ignore[attr-defined]
        assert _shape(from_snapshot) == _shape(replayed)
        zone = app.get_zone(zone_id)  # the snapshot, then the events after it
        assert zone.version == restored.facts["observed"]["zone_state"]["version"]
        assert _shape(zone) == _shape(_from_events(container, zone_id))
    finally:
        container.close()


def _shape(zone: Any) -> tuple[Any, Any]:
    return zone_state(zone), queue_of(zone)


def _from_events(container: Container, zone_id: UUID) -> Any:
    zone = None
    for event in container.playback.events.get(zone_id):
        zone = event.mutate(zone)  # type: ignore[attr-defined]
    return zone


def test_todays_release_reads_a_golden_store_as_it_was_written(restored: Restored) -> None:
    facts, people = restored.facts, restored.people
    with restored.started(clock=False) as (_, http):
        anonymous = Api(http)
        owner, member, admin = (_refreshed(anonymous, people[who]["open_refresh"])
                                for who in ("owner", "member", "admin"))
        seen = observe(owner, admin, restored.zone_id, people["client_id"])
        for part, was in facts["observed"].items():
            assert shaped_like(seen[part], was) == was, part
        assert decisions(seen["history"]) == facts["decisions"] and len(facts["decisions"]) >= 2
        _media_is_as_uploaded(owner, seen, facts)
        _device_follows_its_zone(http, facts)
        for who in ("owner", "member", "admin"):
            anonymous.post("/api/auth/login/", json={
                "email": people[who]["email"], "password": people[who]["password"]})
        anonymous.post("/api/auth/refresh/", 401,
                       json={"refresh": people["owner"]["logged_out_refresh"]})
        owner.get("/api/auth/me/")
        # A rotated-away refresh token used again ends its whole session.
        anonymous.post("/api/auth/refresh/", 401,
                       json={"refresh": people["owner"]["rotated_away_refresh"]})
        owner.get("/api/auth/me/", 401)


def _refreshed(anonymous: Api, refresh: str) -> Api:
    tokens = anonymous.post("/api/auth/refresh/", json={"refresh": refresh})
    return anonymous.as_(tokens["access"])


def _media_is_as_uploaded(owner: Api, seen: dict[str, Any], facts: dict[str, Any]) -> None:
    """Every track and announcement downloads as the bytes uploaded (or spoken)."""
    tracks = owner.pages("/api/music/files/?page_size=200")
    assert {t["id"]: owner.sha256_of(t["file"]) for t in tracks} == facts["library"]["sha256"]
    for ann in facts["announcements"].values():
        url = owner.get(f"/api/announcements/{ann['id']}/")["file"]
        assert owner.sha256_of(url) == ann["sha256"]
    assert len(seen["tracks"]) >= 3 and len(seen["folders"]) >= 3


def _device_follows_its_zone(http: TestClient, facts: dict[str, Any]) -> None:
    """The stored device token is the device's: its heartbeat, and its zone's socket."""
    device, zone = facts["device"], facts["observed"]["zone_state"]
    Api(http, device["token"]).post(f"/api/devices/{device['id']}/heartbeat/")
    url = f"/ws/playback/{facts['zone']['id']}/?token={device['token']}"
    with http.websocket_connect(url) as ws:
        frame = ws.receive_json()
    assert frame["type"] == "zone.state", frame
    state = frame["state"]
    assert (state["version"], state["position_ms"], state["queue_position"]) == (
        zone["version"], zone["position_ms"], zone["queue_position"])


def test_new_commands_work_on_a_golden_stores_aggregates(restored: Restored) -> None:
    facts, people, zone_id = restored.facts, restored.people, restored.zone_id
    with restored.started(clock=True) as (container, http):
        anonymous = Api(http)
        owner = _refreshed(anonymous, people["owner"]["open_refresh"])
        _zone_takes_commands(owner, zone_id, facts)
        _library_takes_commands(owner, facts, restored.tmp)
        _schedules_take_commands(owner, facts)
        member = anonymous.post("/api/auth/refresh/",
                                json={"refresh": people["member"]["open_refresh"]})
        anonymous.post("/api/auth/logout/", json={"refresh": member["refresh"]})
        anonymous.post("/api/auth/refresh/", 401, json={"refresh": member["refresh"]})
        anonymous.as_(member["access"]).get("/api/auth/me/", 401)
        owner.patch(f"/api/devices/{facts['device']['id']}/", json={"name": "Till speaker"})
        assert owner.get("/api/devices/", waiting=True)["results"][0]["name"] == "Till speaker"
        _settle(container)
    _rebuilt_views_equal_live_ones(restored)


def _zone_takes_commands(owner: Api, zone_id: str, facts: dict[str, Any]) -> None:
    """Skip, volume and an announcement on the zone (the ticker runs meanwhile: the
    announcement may already have ended when the views are read)."""
    was = facts["observed"]["zone_state"]
    play = {"zone_id": zone_id}
    moved = owner.post("/api/playback/next/", json=play)
    assert moved["queue_position"] == (was["queue_position"] + 1) % was["queue_length"]
    assert owner.post("/api/playback/volume/", json={**play, "volume": 55})["volume"] == 55
    welcome = facts["announcements"]["Welcome"]["id"]
    (interrupted,) = owner.post(f"/api/announcements/{welcome}/play-instant/",
                                json={"zone_ids": [zone_id]})
    assert interrupted["announcement"]["announcement_id"] == welcome
    state = owner.get(f"/api/playback/state/?zone_id={zone_id}", waiting=True)
    assert state["version"] >= interrupted["version"] > was["version"]
    assert (state["volume"], state["current"]["item_id"]) == (55, moved["current"]["item_id"])
    history = owner.pages(f"/api/zones/{zone_id}/history/?page_size=200", waiting=True)
    assert [e["type"] for e in history[len(facts["observed"]["history"]):]][:3] == [
        "TrackChanged", "VolumeChanged", "AnnouncementStarted"]
    plays = owner.pages(f"/api/reports/plays/?zone_id={zone_id}&page_size=200", waiting=True)
    old = {p["id"] for p in facts["observed"]["plays"]}
    assert [(p["kind"], p["item_id"]) for p in plays if p["id"] not in old] == [
        ("announcement", welcome)]


def _library_takes_commands(owner: Api, facts: dict[str, Any], tmp: Path) -> None:
    folders = facts["library"]["folders"]
    renamed = owner.patch(f"/api/music/folders/{folders['Morning']}/", json={"name": "Mornings"})
    assert renamed["name"] == "Mornings"
    listed = owner.get("/api/music/folders/?page_size=200",
                       waiting=True)
    assert "Mornings" in {f["name"] for f in listed["results"]}
    song = _upload_song(owner, folders["Evening"], tmp)
    assert song["folder"] == folders["Evening"] and song["title"] == "Golden Hour"


def _upload_song(owner: Api, folder_id: str, tmp: Path) -> dict[str, Any]:
    """A new track into an old folder: stored, tagged by the worker, served as uploaded."""
    data = make_mp3(tmp / "golden-hour.mp3", 2, title="Golden Hour", artist="New Band"
                    ).read_bytes()
    body = owner.post("/api/music/upload/", 201, data={"folder_id": folder_id},
                      files=[("files", ("golden-hour.mp3", data, "audio/mpeg"))])
    (track,) = body["created"]
    deadline = time.monotonic() + READY_TIMEOUT
    while track["status"] == "processing":
        assert time.monotonic() < deadline, track
        time.sleep(0.1)
        track = owner.get(f"/api/music/files/{track['id']}/", waiting=True)
    assert track["status"] == "ready", track
    assert owner.sha256_of(track["file"]) == hashlib.sha256(data).hexdigest()
    return dict(track)


def _schedules_take_commands(owner: Api, facts: dict[str, Any]) -> None:
    ids = facts["schedules"]
    changed = owner.patch(f"/api/schedules/{ids['music']}/",
                          json={"name": "Evening music (late)", "priority": 3})
    assert (changed["name"], changed["priority"]) == ("Evening music (late)", 3)
    assert owner.post(f"/api/schedules/{ids['every']}/toggle/")["is_active"] is True
    listed = owner.get("/api/schedules/?page_size=200",
                       waiting=True)
    by_id = {s["id"]: s for s in listed["results"]}
    assert by_id[ids["music"]]["name"] == "Evening music (late)"
    assert by_id[ids["every"]]["is_active"] is True


def _settle(container: Container, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while any(container.projection_lag().values()):
        assert time.monotonic() < deadline, container.projection_lag()
        time.sleep(0.05)
