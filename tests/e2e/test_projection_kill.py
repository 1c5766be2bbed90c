"""A projection process SIGKILLed mid-stream loses no play and repeats none.

The test owns its database, so only the `sync2gear projections` processes it
starts (not the test session's own runners) project it.
"""

from __future__ import annotations

import random
import signal
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from subprocess import Popen
from typing import Any

import pytest

from domain.base import Actor, ActorKind, CommandContext
from domain.playback import QueueItem
from infra.bootstrap import Container, bootstrap
from tests.conftest import make_settings

EVENTS = 600


@pytest.fixture
def commander(own_database: str, servers: dict[str, str], redis_prefix: str,
              tmp_path: Path) -> Iterator[Container]:
    settings = make_settings(own_database, servers, redis_prefix, tmp_path / "app",
                             projections_in_process=False, workers_in_process=False)
    container = bootstrap(settings, start_projections=False, start_workers=False)
    yield container
    container.close()


def history_position(container: Container) -> int:
    return container.history_view.max_tracking_id(container.playback.name) or 0


def wait_for(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def test_killed_projection_resumes_without_gaps_or_duplicate_plays(
        spawn: Callable[..., Popen[bytes]], process_env: dict[str, str], own_database: str,
        commander: Container) -> None:
    env = {**process_env, "DATABASE_URL": own_database, "PROJECTIONS_IN_PROCESS": "false"}
    ctx = CommandContext(Actor(ActorKind.USER, "auditor-test"), "kill-test")
    zone, _ = commander.playback.create_zone(ctx, uuid.uuid4(), name="Lobby")
    items = [QueueItem(uuid.uuid4(), 180_000, f"media/{n}.mp3", "audio/mpeg", f"Song {n}")
             for n in range(5)]
    commander.playback.play(ctx, None, zone.id, items, shuffle=True, source={})
    runner = spawn("projections", env=env)

    def command() -> Any:
        return random.choice([commander.playback.next, commander.playback.previous])(
            ctx, None, zone.id)

    for _ in range(EVENTS // 3):
        command()
    wait_for(lambda: history_position(commander) > 50, 60, "the projection to start")
    runner.send_signal(signal.SIGKILL)  # mid-stream: the rest is still to be projected
    runner.wait(10)
    killed_at = history_position(commander)
    for _ in range(EVENTS // 3, EVENTS):
        command()
    head = commander.playback.recorder.max_notification_id() or 0
    assert killed_at < head
    spawn("projections", env=env)
    wait_for(lambda: history_position(commander) >= head, 120, "the projection to catch up")

    plays = commander.history_view.list_plays(client_id=None, zone_id=zone.id, since=None,
                                              until=None, offset=0, limit=10 * EVENTS).rows
    assert len(plays) == 1 + EVENTS  # the first track, then one per skip or step back
    assert len({p["id"] for p in plays}) == len(plays)
    for earlier, later in zip(plays, plays[1:], strict=False):
        assert earlier["ended_at"] == later["started_at"]
        assert earlier["end_reason"] == "skipped"
    assert plays[-1]["ended_at"] is None
    entries = commander.history_view.list_entries(zone.id, None, None, 0, 10 * EVENTS)
    assert [e["version"] for e in entries.rows] == list(range(1, EVENTS + 3))
