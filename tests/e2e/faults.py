"""Helpers for the fault-tolerance tests: servers of the test's own, fresh databases.

A fault test stops or kills something, so it never does that to a server other
tests share: it runs its own PostgreSQL (pgserver's binaries, stopped and
started with pg_ctl), or its own database on the shared one.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import psycopg
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from infra.embedded import EmbeddedServers


class RestartablePostgres:
    """The embedded PostgreSQL in a folder of its own, stopped and started with pg_ctl."""

    def __init__(self) -> None:
        # Outside pytest's temporary tree, as in tests/conftest.py (permissions).
        self.folder = Path(tempfile.mkdtemp(prefix="s2g-faults-pg-"))
        self.embedded = EmbeddedServers(self.folder)
        self.url = self.embedded.postgres_url()
        self.pgdata = self.folder / "postgres"
        self._socket_dir = str(conninfo_to_dict(self.url)["host"])
        self._user = "pgserver" if os.geteuid() == 0 else None  # as pgserver runs it

    def _pg_ctl(self, *args: str) -> None:
        from pgserver._commands import POSTGRES_BIN_PATH  # type: ignore[import-untyped]

        subprocess.run([str(POSTGRES_BIN_PATH / "pg_ctl"), "-D", str(self.pgdata), *args],
                       check=True, user=self._user, timeout=60,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def stop(self) -> None:
        self._pg_ctl("-w", "-m", "fast", "stop")

    def start(self) -> None:
        self._pg_ctl("-w", "-o", '-h ""', "-o", f"-k {self._socket_dir}",
                     "-l", str(self.pgdata / "log"), "start")

    def close(self) -> None:
        self.embedded.close()
        # After a restart pgserver no longer knows the server's pid: stop it here.
        if (self.pgdata / "postmaster.pid").exists():
            self.stop()
        shutil.rmtree(self.folder, ignore_errors=True)


@contextmanager
def fresh_database(admin_url: str) -> Iterator[str]:
    """A new database on the server at `admin_url`, dropped afterwards.

    Its own database keeps a test away from the session's in-process projection
    runners, which would otherwise take the advisory locks and do the work.
    """
    name = f"s2g_faults_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    info = conninfo_to_dict(admin_url)
    info["dbname"] = name
    try:
        yield make_conninfo(**{k: v for k, v in info.items() if v is not None})
    finally:
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def until(check: Callable[[], bool], timeout: float, what: str) -> float:
    """Wait for `check()`; returns the seconds it took."""
    start = time.monotonic()
    while not check():
        if time.monotonic() - start > timeout:
            raise AssertionError(f"{what}: not within {timeout} s")
        time.sleep(0.2)
    return time.monotonic() - start


def signup(base: str, name: str) -> dict[str, str]:
    """A new client and its first user; returns the bearer header."""
    r = httpx.post(f"{base}/api/auth/signup/", timeout=30, json={
        "email": f"faults-{uuid.uuid4().hex[:8]}@example.com", "password": "a-long-password",
        "name": name, "client_name": f"{name} Ltd"})
    assert r.status_code == 201, r.text
    return {"Authorization": f"Bearer {r.json()['access']}"}


def event_topics(database_url: str, table: str, originator_id: str) -> list[str]:
    """The topics of an aggregate's stored events, oldest first."""
    with psycopg.connect(database_url) as conn:
        rows = conn.execute(
            f"SELECT topic FROM {table} WHERE originator_id = %s ORDER BY originator_version",
            (originator_id,)).fetchall()
    return [str(row[0]) for row in rows]
