"""A process commands a zone from its copy of the zone as it last saved it
(application/zone_commands.py `command_zone`): no read of the store on the common path, and
never a decision on a stale zone when another replica wrote in between."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from domain.base import Actor, CommandContext
from infra.bootstrap import Container, bootstrap
from interfaces.http.app import create_app
from tests.conftest import make_settings
from tests.integration.test_playback_api import _account, _zone_with_music


@pytest.fixture
def replica(test_database: str, servers: dict[str, str], redis_prefix: str,
            tmp_path: Path) -> Iterator[Container]:
    """Another API process on the same store (it projects nothing, runs no jobs)."""
    settings = make_settings(test_database, servers, redis_prefix, tmp_path / "replica",
                             projections_in_process=False, workers_in_process=False)
    other = bootstrap(settings, start_projections=False)
    try:
        yield other
    finally:
        other.close()


def _post(client: TestClient, headers: dict[str, str], name: str,
          zone_id: str, **extra: Any) -> dict[str, Any]:
    answer = client.post(f"/api/playback/{name}/", json={"zone_id": zone_id, **extra},
                         headers=headers)
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def _kinds(container: Container, zone_id: str) -> list[str]:
    return [type(e).__name__ for e in container.playback.events.get(uuid.UUID(zone_id))]


def test_a_replicas_write_in_between_is_seen_by_the_next_command(
        client: TestClient, container: Container, replica: Container,
        tmp_path: Path) -> None:
    auth = _account(client)
    headers = {"Authorization": auth["Authorization"]}
    zone_id, folder = _zone_with_music(client, auth, tmp_path)
    _post(client, headers, "play", zone_id, folder_ids=[folder])
    paused = _post(client, headers, "pause", zone_id)
    assert paused["music_playing"] is False
    ctx = CommandContext(Actor.system("replica"), f"replica-{uuid.uuid4().hex}")

    # The other replica resumes: this process's copy still says "paused". Pausing
    # again must pause the zone as stored, not refuse (or skip) on the copy.
    resumed, _ = replica.playback.resume(ctx, None, uuid.UUID(zone_id))
    again = _post(client, headers, "pause", zone_id)
    assert again["music_playing"] is False and again["version"] == resumed.version + 1
    assert _kinds(container, zone_id)[-3:] == ["Paused", "Resumed", "Paused"]

    # A change the copy lacks is in the next answer (the save conflicted, and the
    # command ran again on the stored zone).
    changed, _ = replica.playback.set_volume(ctx, None, uuid.UUID(zone_id), 33)
    skipped = _post(client, headers, "next", zone_id)
    assert skipped["volume"] == 33 and skipped["version"] == changed.version + 1
    stored = container.playback.get_zone(uuid.UUID(zone_id))
    assert (stored.version, stored.volume) == (skipped["version"], 33)


def test_a_command_refused_on_the_copy_is_decided_on_the_stored_zone(
        client: TestClient, container: Container, replica: Container,
        tmp_path: Path) -> None:
    auth = _account(client)
    headers = {"Authorization": auth["Authorization"]}
    zone_id, folder = _zone_with_music(client, auth, tmp_path, tracks=1)
    _post(client, headers, "volume", zone_id, volume=20)  # the copy: nothing queued
    with TestClient(create_app(replica)) as other:  # the other replica starts the music
        _post(other, headers, "play", zone_id, folder_ids=[folder])
    # On the copy there is nothing to skip to; on the stored zone there is.
    skipped = _post(client, headers, "next", zone_id)
    assert skipped["current"] is not None and skipped["volume"] == 20
    assert _kinds(container, zone_id)[-2:] == ["PlaybackStarted", "TrackChanged"]
