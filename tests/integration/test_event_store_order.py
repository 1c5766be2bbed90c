"""Concurrent writers never let a follower of the notification log skip an event.

A save is one statement (infra/postgres/events.py) whose function takes the
events table's lock before it inserts, so notification ids commit in the order
they are issued: a reader that has seen id N never later finds a committed id
below N. (eventsourcing's own POSTGRES_ENABLE_DB_FUNCTIONS drops that lock,
which is why it stays off.) Here four applications, each with its own pool,
save at once while a follower reads the log as a subscription does, always
from just after the last id it saw; at the end it must have seen every event.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator

import pytest

from application.playback import PlaybackApplication
from domain.base import Actor, CommandContext
from infra.postgres import eventsourcing_env

WRITERS, SAVES = 4, 150
CTX = CommandContext(Actor.system("order-test"), "order-test")


@pytest.fixture
def apps(own_database: str) -> Iterator[list[PlaybackApplication]]:
    made = [PlaybackApplication(eventsourcing_env(own_database, pool_size=1, max_overflow=1,
                                                  aggregate_cache_size=0))
            for _ in range(WRITERS + 1)]
    yield made
    for app in made:
        app.close()


def test_a_follower_reading_while_four_writers_save_sees_every_event(
        apps: list[PlaybackApplication]) -> None:
    follower, writers = apps[0], apps[1:]
    errors: list[BaseException] = []

    def write(app: PlaybackApplication) -> None:
        try:
            zone, _ = app.create_zone(CTX, uuid.uuid4(), name="Z")
            for n in range(SAVES):
                app.change_zone(CTX, None, zone.id, description=f"change {n}")
        except BaseException as e:  # noqa: BLE001 - reported by the test
            errors.append(e)

    threads = [threading.Thread(target=write, args=(app,)) for app in writers]
    for thread in threads:
        thread.start()
    seen: list[int] = []
    watcher = threading.Thread(target=lambda: [t.join() for t in threads] and None)
    watcher.start()
    while True:
        finished = not watcher.is_alive()
        start = seen[-1] + 1 if seen else 1
        page = follower.recorder.select_notifications(start, 200)
        seen += [n.id for n in page]
        if finished and not page:
            break
    assert not errors, errors
    stored = [n.id for n in follower.recorder.select_notifications(1, 100_000)]
    # each writer: its zone's creation, its client's roster (opened, zone added), changes
    assert len(stored) == WRITERS * (3 + SAVES)
    assert seen == stored  # nothing skipped, nothing out of order
