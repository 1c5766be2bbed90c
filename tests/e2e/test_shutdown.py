"""Nothing waits forever (issue 12, finding 9): a lock wait ends in a 503, and SIGTERM
stops a process within 10 s whatever its requests and runners are waiting on.

Each test holds a lock of its own database from here, as a stuck writer would.
"""

from __future__ import annotations

import contextlib
import signal
import subprocess
import threading
import time
from collections.abc import Callable
from typing import Any

import httpx
import psycopg
import pytest

from tests.e2e.conftest import free_port, wait_until_up
from tests.e2e.embedded_support import signup

Spawn = Callable[..., subprocess.Popen[bytes]]


def wait_for_a_lock_wait(database: str, timeout: float = 30) -> None:
    """Until some session of `database` waits for a lock."""
    deadline = time.monotonic() + timeout
    with psycopg.connect(database, autocommit=True) as conn:
        while time.monotonic() < deadline:
            row = conn.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = "
                               "current_database() AND wait_event_type = 'Lock'").fetchone()
            if row and row[0]:
                return
            time.sleep(0.1)
    raise TimeoutError("nothing waited for the lock")


def start(spawn: Spawn, env: dict[str, str], *args: str) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    proc = spawn("run", "--port", str(port), *args, env=env)
    base = f"http://127.0.0.1:{port}"
    wait_until_up(base)
    return proc, base


def stopped_within(proc: subprocess.Popen[bytes], seconds: float) -> float:
    began = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(seconds)
    except subprocess.TimeoutExpired:
        pytest.fail(f"still running {seconds} s after SIGTERM")
    return time.monotonic() - began


def test_a_command_waiting_for_a_held_events_lock_is_answered_503_with_retry_after(
        spawn: Spawn, process_env: dict[str, str], own_database: str,
        locker: Callable[[str, str], None]) -> None:
    _, base = start(spawn, {**process_env, "DB_LOCK_TIMEOUT": "1"})
    with httpx.Client(base_url=base, timeout=40) as http:
        auth = signup(http)
        locker("playback_events", "EXCLUSIVE")
        began = time.monotonic()

        refused = http.post("/api/zones/", json={"name": "Blocked"}, headers=auth)

        assert refused.status_code == 503, refused.text
        assert refused.headers["Retry-After"] and refused.json()["detail"]
        assert time.monotonic() - began < 30  # ten tries of one second each, not forever


def test_sigterm_stops_the_server_within_ten_seconds_while_a_request_waits_for_a_lock(
        spawn: Spawn, process_env: dict[str, str], own_database: str,
        locker: Callable[[str, str], None]) -> None:
    proc, base = start(spawn, {**process_env, "DB_LOCK_TIMEOUT": "600"})
    with httpx.Client(base_url=base, timeout=60) as http:
        auth = signup(http)
        locker("playback_events", "EXCLUSIVE")
        waiting = threading.Thread(target=_quietly(lambda: http.post(
            "/api/zones/", json={"name": "Stuck"}, headers=auth)), daemon=True)
        waiting.start()
        wait_for_a_lock_wait(own_database)

        took = stopped_within(proc, 10)

    print(f"stopped {took:.1f} s after SIGTERM")


def test_sigterm_stops_the_projection_runners_within_ten_seconds_while_one_waits_for_a_lock(
        spawn: Spawn, process_env: dict[str, str], own_database: str,
        locker: Callable[[str, str], None]) -> None:
    env = {**process_env, "PROJECTIONS_IN_PROCESS": "false", "DB_LOCK_TIMEOUT": "600"}
    _, base = start(spawn, env)
    runners = spawn("projections", env=env)
    with httpx.Client(base_url=base, timeout=30) as http:
        auth = signup(http)
        first = http.post("/api/zones/", json={"name": "First"}, headers=auth)
        deadline = time.monotonic() + 60  # the runners' process may still be starting:
        while True:  # each wait is 5 s at most, then 504
            listed = http.get("/api/zones/", headers={
                **auth, "X-Wait-For-Position": first.headers["X-Event-Position"]})
            if listed.status_code != 504 or time.monotonic() > deadline:
                break
        assert listed.status_code == 200, listed.text  # the runners are up and working
        locker("playback_zones_v2", "ACCESS EXCLUSIVE")
        assert http.post("/api/zones/", json={"name": "Second"},
                         headers=auth).status_code == 201
        wait_for_a_lock_wait(own_database)  # the zones view's runner, writing it

        took = stopped_within(runners, 10)

    print(f"stopped {took:.1f} s after SIGTERM")


def _quietly(call: Callable[[], Any]) -> Callable[[], None]:
    def run() -> None:
        with contextlib.suppress(httpx.HTTPError):  # the server went away: expected here
            call()
    return run
