"""`/api/ready/` is what a load balancer asks; `/api/health/` what a supervisor asks.

Finding 3 of issue 12: with the server's Redis gone, projections and workers
failed in a loop while `/api/health/` said ok. Readiness now also names every
projection runner and leader loop of the process, and is 503 while one has
stopped or keeps failing.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable
from typing import Any

import httpx
import psycopg

from tests.e2e.conftest import free_port, wait_until_up
from tests.e2e.embedded_support import signup

Spawn = Callable[..., subprocess.Popen[bytes]]


def test_ready_names_a_projection_runner_that_keeps_failing_while_health_stays_ok(
        spawn: Spawn, process_env: dict[str, str], own_database: str) -> None:
    port = free_port()
    spawn("run", "--port", str(port), env=process_env)
    base = f"http://127.0.0.1:{port}"
    wait_until_up(base)
    with httpx.Client(base_url=base, timeout=15) as http:
        body = _until(http, lambda r: r.status_code == 200, "ready")
        runners = body["checks"]["runners"]
        assert {"zone_history", "zones_view_v2", "playback-ticker"} <= set(runners)
        assert all(r["state"] in ("starting", "standby", "running") for r in runners.values())
        with psycopg.connect(own_database, autocommit=True) as conn:
            conn.execute("DROP TABLE zone_history")  # its runner cannot write any more
        auth = signup(http)
        assert http.post("/api/zones/", json={"name": "Hall"}, headers=auth).status_code == 201

        body = _until(http, lambda r: r.status_code == 503, "a 503")

        assert body["down"] == ["zone_history"]
        assert body["checks"]["runners"]["zone_history"]["failures"] >= 2
        assert "zone_history" in body["checks"]["runners"]["zone_history"]["last_error"]
        assert http.get("/api/health/").json() == {"status": "ok"}


def _until(http: httpx.Client, done: Callable[[httpx.Response], bool], what: str,
           timeout: float = 45) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        response = http.get("/api/ready/")
        if done(response):
            body: dict[str, Any] = response.json()
            return body
        assert time.monotonic() < deadline, f"no {what} from /api/ready/: {response.text}"
        time.sleep(0.25)
