"""Helpers to run sync2gear's real processes against this run's servers."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_until_up(base_url: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base_url}/api/health/", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise TimeoutError(f"{base_url} did not come up in {timeout} s")


def lift_plan_limits(base: str, env: dict[str, str], auth: dict[str, str]) -> None:
    """Tests that make zones as their load make more than a plan allows: an admin
    (made with the CLI, on the same servers) lifts the caller's client's limits."""
    email, password = f"admin-{uuid.uuid4().hex[:8]}@example.com", "a-long-admin-password"
    subprocess.run([str(BIN / "sync2gear"), "create-user", "--email", email, "--name", "Admin",
                    "--password", password, "--role", "admin"],
                   env=env, check=True, capture_output=True, timeout=60)
    with httpx.Client(base_url=base, timeout=30) as http:
        admin = http.post("/api/auth/login/", json={"email": email, "password": password})
        assert admin.status_code == 200, admin.text
        client_id = http.get("/api/auth/me/", headers=auth).json()["client_id"]
        lifted = http.patch(f"/api/admin/clients/{client_id}/", json={
            "max_zones": 100_000, "max_schedules": 100_000},
            headers={"Authorization": f"Bearer {admin.json()['access']}"})
        assert lifted.status_code == 200, lifted.text


@pytest.fixture
def scheduling_server(spawn: Callable[..., subprocess.Popen[bytes]],
                      process_env: dict[str, str]) -> str:
    """`sync2gear run` with its scheduler deciding every second; its base URL."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    spawn("run", "--port", str(port), env={**process_env, "PUBLIC_URL": base,
                                           "SCHEDULER_IN_PROCESS": "true",
                                           "SCHEDULE_TICK_SECONDS": "1"})
    wait_until_up(base)
    return base


@pytest.fixture
def process_env(own_database: str, servers: dict[str, str], redis_prefix: str,
                tmp_path: Path) -> dict[str, str]:
    """Processes of this test only: a database and a Redis prefix of its own, so
    neither the session's in-process runners and workers nor jobs left by
    another test's processes act on its data."""
    return {
        **os.environ,
        "ENVIRONMENT": "test",
        "DATABASE_URL": own_database,
        "REDIS_URL": servers["redis_url"],
        "REDIS_PREFIX": f"{redis_prefix}{uuid.uuid4().hex[:8]}:",
        "DATA_DIR": str(tmp_path / "data"),
        "LOG_LEVEL": "WARNING",
        # Tests drive commands faster than a person: the per-caller limit is not theirs to test.
        "RATE_LIMIT_COMMAND": "1000000/minute",
    }


@pytest.fixture
def spawn(tmp_path: Path) -> Iterator[Callable[..., subprocess.Popen[bytes]]]:
    """Start `sync2gear ARGS...` processes; all are terminated after the test."""
    started: list[subprocess.Popen[bytes]] = []

    def start(*args: str, env: dict[str, str]) -> subprocess.Popen[bytes]:
        log = open(tmp_path / f"{args[0]}-{len(started)}.log", "wb")  # noqa: SIM115
        proc = subprocess.Popen([str(BIN / "sync2gear"), *args], env=env, cwd=tmp_path,
                                stdout=log, stderr=subprocess.STDOUT)
        started.append(proc)
        return proc

    yield start
    for proc in started:
        proc.terminate()
    for proc in started:
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
