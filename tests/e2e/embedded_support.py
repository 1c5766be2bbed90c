"""`sync2gear` processes on embedded servers (no DATABASE_URL / REDIS_URL), as `make run`.

Their data folder lives outside pytest's temporary tree: another pytest run
starting meanwhile resets that tree's permissions, which the embedded PostgreSQL
(running as its own user when the tests run as root) would then lose.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import psutil

from infra.embedded import EmbeddedServers


def embedded_env(data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    return {
        **env, "ENVIRONMENT": "test", "DATA_DIR": str(data_dir), "LOG_LEVEL": "WARNING",
        # Tests sign up and command faster than a person: limits are not theirs to test.
        "RATE_LIMIT_COMMAND": "1000000/minute", "RATE_LIMIT_SIGNUP": "1000/minute",
        "RATE_LIMIT_LOGIN": "1000/minute", "RATE_LIMIT_LOGIN_IP": "1000/minute",
    }


def data_folder() -> Iterator[Path]:
    """A data folder (for a fixture); whatever embedded server is still running in
    it at the end (a test that failed after a SIGKILL) is adopted and stopped.
    Request the fixture before `spawn`, so the test's processes are stopped first."""
    folder = Path(tempfile.mkdtemp(prefix="s2g-data-"))
    yield folder
    leftovers = EmbeddedServers(folder)
    running = server_pids(folder)
    if "postgres" in running:
        leftovers.postgres_url()
    if "redis" in running:
        leftovers.redis_url()
    leftovers.close()
    shutil.rmtree(folder, ignore_errors=True)


def server_pids(data_dir: Path) -> dict[str, int]:
    """The embedded servers running in `data_dir`, by name: their process ids."""
    pids = {}
    for proc in psutil.process_iter(["pid", "cmdline"]):
        cmdline = " ".join(proc.info["cmdline"] or [])
        if "postgres" in cmdline and f"-D {data_dir}/postgres" in cmdline:
            pids["postgres"] = proc.info["pid"]
        if "redis-server" in cmdline and proc.info["pid"] == _redis_pid(data_dir):
            pids["redis"] = proc.info["pid"]
    return pids


def _redis_pid(data_dir: Path) -> int | None:
    try:
        settings = json.loads((data_dir / "redis.rdb.settings").read_text())
        return int(Path(settings["pidfile"]).read_text().strip())
    except (OSError, ValueError, KeyError):
        return None


def wait_until_ready(base: str, timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/api/ready/", timeout=5).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise TimeoutError(f"{base} was not ready in {timeout} s")


def signup(http: httpx.Client) -> dict[str, str]:
    response = http.post("/api/auth/signup/", json={
        "email": f"owner-{uuid.uuid4().hex[:8]}@example.com", "password": "a-long-password",
        "name": "Olga", "client_name": "Olga's Cafe"})
    assert response.status_code == 201, response.text
    return {"Authorization": f"Bearer {response.json()['access']}"}
