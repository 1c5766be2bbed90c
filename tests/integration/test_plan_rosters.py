"""Zone and schedule limits are counted by roster aggregates, never by a read model:
creating a zone works while the zones view is locked (and its projection runner
down), and two creations racing for the last slot cannot both win.

Each test runs the system on a database of its own: a table lock there disturbs
no other test.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from application.playback import PlaybackApplication
from domain.base import Actor, CommandContext
from domain.plan import PlanLimitReached
from domain.zone import zone_roster_id
from infra.bootstrap import Container, bootstrap
from interfaces.http.app import create_app
from tests.conftest import make_settings
from tests.integration.accounts_helpers import signup

CTX = CommandContext(Actor.system("rosters-test"), "rosters-test")


@pytest.fixture
def container(own_database: str, servers: dict[str, str], tmp_path: Path) -> Iterator[Container]:
    c = bootstrap(make_settings(own_database, servers, f"s2g-rosters-{uuid.uuid4().hex}:",
                                tmp_path), start_projections=False)
    yield c
    c.close()


def test_creating_a_zone_works_while_the_zones_view_is_locked(
        container: Container, locker: Callable[[str, str], None]) -> None:
    """No projection runs here either: the view lags and is locked, and neither matters."""
    with TestClient(create_app(container)) as client:
        account = signup(client)
        first = client.post("/api/zones/", json={"name": "First"}, headers=account.auth)
        assert first.status_code == 201, first.text  # opens the roster (reads the view once)
        locker("playback_zones_v2", "ACCESS EXCLUSIVE")
        answers: list[Any] = []
        creating = threading.Thread(target=lambda: answers.append(client.post(
            "/api/zones/", json={"name": "Second"}, headers=account.auth)), daemon=True)
        creating.start()
        creating.join(20)  # if it waited for the lock, it would still be waiting

        assert answers and answers[0].status_code == 201, answers and answers[0].text
        roster: Any = container.playback.repository.get(
            zone_roster_id(uuid.UUID(account.client_id)))
        assert {str(z) for z in roster.member_ids} == {first.json()["id"],
                                                       answers[0].json()["id"]}


def _racing(app: PlaybackApplication, roster_id: uuid.UUID, barrier: threading.Barrier) -> None:
    """The app's first load of the roster waits for the other replica's: both decide
    on the same version, as two requests arriving together would."""
    get, waited = app.repository.get, []

    def get_then_wait(aggregate_id: Any, *args: Any, **kwargs: Any) -> Any:
        aggregate = get(aggregate_id, *args, **kwargs)
        if aggregate_id == roster_id and not waited:
            waited.append(True)
            barrier.wait(10)
        return aggregate

    app.repository.get = get_then_wait  # type: ignore[method-assign]


def _race(apps: list[PlaybackApplication], client_id: uuid.UUID) -> list[Any]:
    outcomes: list[Any] = []

    def create(app: PlaybackApplication, name: str) -> None:
        try:
            outcomes.append(app.create_zone(CTX, client_id, max_zones=1, name=name)[0].id)
        except PlanLimitReached as refused:
            outcomes.append(refused)

    threads = [threading.Thread(target=create, args=(app, f"Zone {n}"))
               for n, app in enumerate(apps)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    return outcomes


def test_two_creations_racing_for_the_last_zone_cannot_both_win(container: Container) -> None:
    client_id = uuid.uuid4()
    with_roster = container.playback.create_zone(CTX, client_id, max_zones=1, name="Once")[0]
    container.playback.delete_zone(CTX, client_id, with_roster.id)  # an empty roster
    replicas = [PlaybackApplication(container.es_env), PlaybackApplication(container.es_env)]
    barrier = threading.Barrier(2)
    for app in replicas:
        _racing(app, zone_roster_id(client_id), barrier)

    outcomes = _race(replicas, client_id)

    won = [o for o in outcomes if isinstance(o, uuid.UUID)]
    refused = [o for o in outcomes if isinstance(o, PlanLimitReached)]
    assert (len(won), len(refused)) == (1, 1), outcomes
    assert str(refused[0]).startswith("zone limit of this plan reached: 1 of 1")
    roster: Any = container.playback.repository.get(zone_roster_id(client_id))
    assert roster.member_ids == set(won)


def test_two_first_creations_opening_the_roster_together_cannot_both_win(
        container: Container) -> None:
    """Both open the client's roster (reading the view, held up there): one wins."""
    client_id, barrier = uuid.uuid4(), threading.Barrier(2)

    def existing(_: uuid.UUID) -> list[uuid.UUID]:
        barrier.wait(10)
        return []

    replicas = [PlaybackApplication(container.es_env, existing_zones=existing) for _ in "ab"]
    outcomes = _race(replicas, client_id)

    won = [o for o in outcomes if isinstance(o, uuid.UUID)]
    assert len(won) == 1 and isinstance(
        next(o for o in outcomes if o not in won), PlanLimitReached), outcomes
    roster: Any = container.playback.repository.get(zone_roster_id(client_id))
    assert roster.member_ids == set(won)
