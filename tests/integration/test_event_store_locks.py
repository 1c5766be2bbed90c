"""The event store never waits forever on its events-table lock (issue 12, finding 9).

A restarted server wedged on a data folder whose zones had played many short
tracks while it was down: the clock's first tick caught each zone up in one save
of ~a megabyte, eventsourcing sent it in psycopg's pipeline mode, psycopg stopped
flushing before the statement had left the client, and the server held the
`playback_events` lock in ClientRead for good. A projection runner constructing
its application queued `CREATE UNIQUE INDEX IF NOT EXISTS` behind it, and every
later writer queued behind that. Each test has a database of its own.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import psycopg
import pytest

from application.playback import PlaybackApplication
from domain.base import Actor, ActorKind, CommandContext
from domain.playback import QueueItem
from infra.postgres import construct_view, eventsourcing_env
from infra.postgres.zones_view import PostgresZonesView
from infra.projection_runner import ProjectionSpec, SupervisedProjection
from projections.playback import zones_projection

T = TypeVar("T")
CTX = CommandContext(Actor(ActorKind.USER, "lock-test"), "lock-test")


@pytest.fixture
def database(own_database: str) -> str:
    return own_database


@pytest.fixture
def playback(database: str) -> Iterator[PlaybackApplication]:
    app = PlaybackApplication(eventsourcing_env(database, pool_size=1, max_overflow=2))
    yield app
    app.close()


def within(seconds: float, call: Callable[[], T]) -> T:
    """`call()`'s result, failing the test if it has not returned after `seconds`."""
    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            outcome["value"] = call()
        except BaseException as exc:  # handed to the test's thread
            outcome["error"] = exc

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), f"still waiting after {seconds} s"
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]  # type: ignore[no-any-return]


def big_queue(tracks: int) -> list[QueueItem]:
    return [QueueItem(uuid.uuid4(), 180_000, f"media/{uuid.uuid4()}/{uuid.uuid4().hex}.mp3",
                      "audio/mpeg", f"Track {n} of a long evening mix", "Various Artists",
                      f"covers/{uuid.uuid4().hex}.jpg") for n in range(tracks)]


@pytest.fixture
def writer_holding_the_lock(database: str) -> Iterator[Callable[[], None]]:
    """Hold `playback_events`' EXCLUSIVE lock as a committing writer does."""
    conn = psycopg.connect(database)

    def hold() -> None:
        conn.execute("LOCK TABLE playback_events IN EXCLUSIVE MODE")

    yield hold
    conn.rollback()
    conn.close()


def test_saves_of_megabytes_commit_and_return_their_positions(
        playback: PlaybackApplication) -> None:
    zone, _ = playback.create_zone(CTX, uuid.uuid4(), name="Evening")
    items = big_queue(6000)  # one PlaybackStarted event of about 2 MB

    positions = [within(60, lambda: playback.play(CTX, None, zone.id, items, shuffle=True,
                                                  source={}))[1] for _ in range(3)]

    assert all(p is not None for p in positions) and positions == sorted(positions)
    assert len(playback.get_zone(zone.id).queue) == 6000


def test_an_application_starts_beside_a_writer_holding_the_events_lock(
        playback: PlaybackApplication, database: str,
        writer_holding_the_lock: Callable[[], None]) -> None:
    writer_holding_the_lock()

    second = within(10, lambda: PlaybackApplication(
        eventsourcing_env(database, pool_size=1, max_overflow=2)))

    second.close()


def test_a_projection_runner_starts_and_catches_up_beside_a_writer_holding_the_lock(
        playback: PlaybackApplication, database: str,
        writer_holding_the_lock: Callable[[], None]) -> None:
    env = eventsourcing_env(database, pool_size=1, max_overflow=2)
    zones_class = zones_projection(lambda zone_id, v: playback.repository.get(zone_id,
                                                                              version=v))
    spec = ProjectionSpec(PlaybackApplication, zones_class, PostgresZonesView)
    _, position = playback.create_zone(CTX, uuid.uuid4(), name="Lobby")
    # Its tables exist (bootstrap creates them before any runner starts).
    view = construct_view(zones_class.name, PostgresZonesView, env)
    writer_holding_the_lock()
    runner = SupervisedProjection(spec, env, database, retry_seconds=0.2)
    runner.start()
    try:
        within(15, lambda: _wait_until(lambda: view.has_tracking_id("playback", position)))
    finally:
        runner.stop(timeout=5)
        view.datastore.close()


def _wait_until(condition: Callable[[], bool]) -> None:
    event = threading.Event()
    while not condition():
        event.wait(0.05)
