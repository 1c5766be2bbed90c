"""Embedded servers belong to the process that started them (issue 12, finding 3).

`sync2gear create-user` beside a running `sync2gear run` on the same data folder
shut down the server's embedded Redis ("User requested shutdown... bye bye"): the
server never recovered. And pgserver's list of the processes using its server
kept the pids of killed processes, so after one SIGKILL nobody ever stopped it.
"""

from __future__ import annotations

import signal
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import psutil
import pytest

from tests.e2e.conftest import BIN, free_port
from tests.e2e.embedded_support import (
    data_folder,
    embedded_env,
    server_pids,
    signup,
    wait_until_ready,
)

Spawn = Callable[..., subprocess.Popen[bytes]]


@pytest.fixture
def data_dir() -> Iterator[Path]:
    yield from data_folder()


def test_create_user_beside_a_running_server_leaves_its_servers_running(
        data_dir: Path, spawn: Spawn) -> None:
    env, port = embedded_env(data_dir), free_port()
    spawn("run", "--port", str(port), env=env)
    base = f"http://127.0.0.1:{port}"
    wait_until_ready(base)
    servers = server_pids(data_dir)
    assert set(servers) == {"postgres", "redis"}, servers

    email = f"admin-{uuid.uuid4().hex[:8]}@example.com"
    created = subprocess.run(
        [str(BIN / "sync2gear"), "create-user", "--email", email, "--name", "Ada",
         "--password", "a-long-password", "--role", "admin"],
        env=env, cwd=data_dir, capture_output=True, text=True, timeout=120)

    assert created.returncode == 0, created.stdout + created.stderr
    with httpx.Client(base_url=base, timeout=15) as http:
        for _ in range(20):  # the server's Redis was shut down within a second of it
            ready = http.get("/api/ready/")
            assert ready.status_code == 200, ready.text
            time.sleep(0.25)
        auth = signup(http)
        zone = http.post("/api/zones/", json={"name": "After"}, headers=auth)
        assert zone.status_code == 201, zone.text
        listed = http.get("/api/zones/", headers={
            **auth, "X-Wait-For-Position": zone.headers["X-Event-Position"]})
        assert [z["name"] for z in listed.json()["results"]] == ["After"]
        login = http.post("/api/auth/login/", json={"email": email,
                                                    "password": "a-long-password"})
        assert login.status_code == 200, login.text
    assert server_pids(data_dir) == servers  # the very same servers, never restarted


def test_servers_left_by_a_killed_owner_are_adopted_and_stopped_by_the_next(
        data_dir: Path, spawn: Spawn) -> None:
    env = embedded_env(data_dir)
    first_port = free_port()
    first = spawn("run", "--port", str(first_port), env=env)
    wait_until_ready(f"http://127.0.0.1:{first_port}")
    first.send_signal(signal.SIGKILL)
    first.wait(10)
    left = server_pids(data_dir)
    assert set(left) == {"postgres", "redis"}, left  # a SIGKILL cannot stop them

    port = free_port()
    second = spawn("run", "--port", str(port), env=env)
    wait_until_ready(f"http://127.0.0.1:{port}")
    assert server_pids(data_dir) == left  # adopted, not started beside the old ones
    second.send_signal(signal.SIGTERM)
    second.wait(10)

    gone = psutil.wait_procs([psutil.Process(pid) for pid in left.values()
                              if psutil.pid_exists(pid)], timeout=5)[1]
    assert not gone, f"still running after the owner stopped: {gone}"
    assert server_pids(data_dir) == {}
