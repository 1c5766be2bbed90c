"""PostgreSQL restarted under command load: 503 while it is down, recovery by itself.

The test runs a PostgreSQL of its own (pgserver's binaries, as the embedded
servers do) so that it may stop and start it; the machine's shared server is
never touched. An API process with in-process projections takes zone commands
from several clients throughout; every command it acknowledged must be in the
event store afterwards, and the read models must catch up with all of them.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import psycopg
import pytest

from tests.e2e.conftest import free_port, lift_plan_limits, wait_until_up
from tests.e2e.faults import RestartablePostgres, signup, until

CLIENTS = 4
# A request waits about ten times DB_POOL_TIMEOUT for the database (eventsourcing
# retries each call): the outage lasts longer, so that requests are answered 503.
DB_POOL_TIMEOUT = 1
OUTAGE_SECONDS = 15


@pytest.fixture
def postgres() -> Iterator[RestartablePostgres]:
    server = RestartablePostgres()
    yield server
    server.close()


@dataclass
class Outcome:
    at: float
    status: int
    headers: dict[str, str]
    body: Any


@dataclass
class Load:
    """Clients creating zones in a loop until stopped; every answer is kept."""

    base: str
    auth: dict[str, str]
    outcomes: list[Outcome] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)

    def run(self, client: int) -> None:
        with httpx.Client(base_url=self.base, headers=self.auth, timeout=60) as http:
            i = 0
            while not self.stop.is_set():
                i += 1
                r = http.post("/api/zones/", json={"name": f"zone {client}-{i}"})
                body = r.json() if r.headers.get("content-type", "").endswith("json") else r.text
                self.outcomes.append(Outcome(time.monotonic(), r.status_code,
                                             dict(r.headers), body))
                time.sleep(0.05)

    def acknowledged(self) -> set[str]:
        return {o.body["id"] for o in self.outcomes if o.status == 201}

    def failures(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.status != 201]


def _stored_zone_ids(url: str) -> set[str]:
    with psycopg.connect(url) as conn:
        rows = conn.execute("SELECT originator_id FROM playback_events"  # zones, not rosters
                            " WHERE topic = 'domain.zone:Zone.Created'").fetchall()
    return {str(row[0]) for row in rows}


def _command_succeeds(base: str, auth: dict[str, str]) -> bool:
    try:
        r = httpx.post(f"{base}/api/zones/", json={"name": "probe"}, headers=auth, timeout=10)
    except httpx.HTTPError:
        return False
    return r.status_code == 201


def test_postgres_restart_under_load_answers_503_then_recovers_and_keeps_every_command(
    spawn: Any, process_env: dict[str, str], postgres: RestartablePostgres
) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    spawn("run", "--port", str(port), env={
        **process_env, "DATABASE_URL": postgres.url, "WORKERS_IN_PROCESS": "false",
        "DB_POOL_TIMEOUT": str(DB_POOL_TIMEOUT)})
    wait_until_up(base)
    auth = signup(base, "Pat")
    lift_plan_limits(base, {**process_env, "DATABASE_URL": postgres.url}, auth)

    load = Load(base, auth)
    clients = [threading.Thread(target=load.run, args=(i,)) for i in range(CLIENTS)]
    for thread in clients:
        thread.start()
    try:
        time.sleep(2)
        postgres.stop()
        down_at = time.monotonic()
        time.sleep(OUTAGE_SECONDS)
        postgres.start()
        up_at = time.monotonic()
        recovery = until(lambda: _command_succeeds(base, auth), 60, "commands succeed again")
        time.sleep(2)
    finally:
        load.stop.set()
        for thread in clients:
            thread.join(90)

    failures = load.failures()
    assert failures, "no request saw the outage"
    for o in failures:
        assert o.status == 503, (o.status, o.body)
        assert int(o.headers["retry-after"]) > 0
        assert o.headers["content-type"] == "application/problem+json"
        assert o.body["status"] == 503 and o.body["detail"]
    assert any(o.at < down_at and o.status == 201 for o in load.outcomes)
    assert any(o.at > up_at + recovery and o.status == 201 for o in load.outcomes)

    acknowledged = load.acknowledged()
    stored = _stored_zone_ids(postgres.url)
    assert acknowledged <= stored, f"lost: {acknowledged - stored}"

    # The projections recovered too: the read model holds every stored zone.
    # (A read may still be slow while the last pools reconnect: that is a retry here.)
    def read_model_complete() -> bool:
        try:
            r = httpx.get(f"{base}/api/zones/", params={"page_size": 200}, headers=auth,
                          timeout=10)
        except httpx.TimeoutException:
            return False
        return r.status_code == 200 and r.json()["count"] == len(_stored_zone_ids(postgres.url))

    def ready() -> bool:
        try:
            return httpx.get(f"{base}/api/ready/", timeout=10).status_code == 200
        except httpx.TimeoutException:
            return False

    until(read_model_complete, 60, "the zones read model catches up")
    until(ready, 30, "the API is ready again")
    print(f"\n{len(load.outcomes)} requests, {len(acknowledged)} acknowledged, "
          f"{len(failures)} answered 503; commands succeeded {recovery:.1f} s after restart")
