"""The servers a bench run owns: PostgreSQL, Redis, a sync2gear API, a hello-world app.

Each is started on first use and stopped when the run ends, so a bench row that
needs only the database never starts an API. PostgreSQL and Redis are the ones
named by DATABASE_URL / REDIS_URL (the run then works in a database and a key
prefix of its own, removed at the end), else embedded ones in a temporary folder.
"""

from __future__ import annotations

import contextlib
import os
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import IO

import httpx
import psycopg
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from infra.embedded import EmbeddedServers
from infra.settings import Settings

BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_up(url: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(url, timeout=2).status_code < 500:
                return
        time.sleep(0.3)
    raise TimeoutError(f"{url} did not answer within {timeout} s")


def rss_bytes(pid: int) -> int:
    """Resident set size of a process, from /proc (Linux)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(f"no VmRSS for pid {pid}")


def raise_fd_limit() -> int:
    """Raise this process's open-file limit to the hard limit; children inherit it."""
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return hard


@dataclass(frozen=True)
class Server:
    url: str
    pid: int

    @property
    def ws_url(self) -> str:
        return self.url.replace("http://", "ws://", 1)


class Servers:
    """Lazily started servers, all stopped by `close()` (in reverse order)."""

    def __init__(self) -> None:
        self.tmp = Path(tempfile.mkdtemp(prefix="s2g-bench-"))
        self._stack = ExitStack()
        self._stack.callback(shutil.rmtree, self.tmp, ignore_errors=True)
        self._embedded: EmbeddedServers | None = None
        self._processes: dict[int, tuple[subprocess.Popen[bytes], IO[bytes]]] = {}

    def close(self) -> None:
        self._stack.close()

    @cached_property
    def database_url(self) -> str:
        """A fresh database of this run on the configured or embedded PostgreSQL."""
        return self.new_database()

    def new_database(self) -> str:
        """Another fresh database (dropped at the end of the run): for a bench that
        must not share its store with the running API's projections."""
        admin = os.environ.get("DATABASE_URL") or self._embedded_servers().postgres_url()
        name = f"s2g_bench_{uuid.uuid4().hex[:10]}"
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        self._stack.callback(_drop_database, admin, name)
        info = {k: v for k, v in conninfo_to_dict(admin).items() if v is not None}
        info["dbname"] = name
        return make_conninfo("", **info)

    @cached_property
    def redis_url(self) -> str:
        return os.environ.get("REDIS_URL") or self._embedded_servers().redis_url()

    @cached_property
    def env(self) -> dict[str, str]:
        """Environment for sync2gear processes of this run."""
        return {
            **os.environ, "DATABASE_URL": self.database_url, "REDIS_URL": self.redis_url,
            "REDIS_PREFIX": f"s2g-bench-{uuid.uuid4().hex[:8]}:",
            "DATA_DIR": str(self.tmp / "data"), "LOG_LEVEL": "WARNING",
            "ENVIRONMENT": "development",
            # The bench measures the system, not its rate limits: none binds here.
            **{name.upper(): "100000000/minute" for name in Settings.model_fields
               if name.startswith("rate_limit_")},
        }

    @cached_property
    def admin_token(self) -> str:
        """An access token of a sync2gear admin of this run (made with the CLI), which
        lifts bench tenants' plan limits: a bench makes more zones than a plan allows."""
        email, password = f"admin-{uuid.uuid4().hex[:8]}@bench.example.com", "bench-admin-pw"
        subprocess.run([str(BIN / "sync2gear"), "create-user", "--email", email, "--name",
                        "Bench admin", "--password", password, "--role", "admin"],
                       env=self.env, check=True, capture_output=True)
        answer = httpx.post(f"{self.api.url}/api/auth/login/",
                            json={"email": email, "password": password}, timeout=30)
        answer.raise_for_status()
        return str(answer.json()["access"])

    @cached_property
    def api(self) -> Server:
        """`sync2gear run` (API with in-process projections and worker), as `make run`."""
        return self._start_api(free_port(), "api")

    def restart_api(self) -> Server:
        """Stop the API (SIGTERM, as a deploy does) and start it again on its port."""
        old = self.api
        _stop(*self._processes.pop(old.pid))
        self.__dict__["api"] = self._start_api(int(old.url.rsplit(":", 1)[1]), "api-restarted")
        return self.api

    def _start_api(self, port: int, name: str) -> Server:
        url = f"http://127.0.0.1:{port}"  # its media URLs point at itself (bench/sync.py)
        server = self._spawn([str(BIN / "sync2gear"), "run", "--port", str(port)],
                             url, name, {**self.env, "PUBLIC_URL": url})
        wait_up(f"{server.url}/api/health/")
        return server

    @cached_property
    def hello(self) -> Server:
        """The hello-world FastAPI baseline on uvicorn's defaults, as `sync2gear run` uses."""
        port = free_port()
        server = self._spawn(
            [str(BIN / "uvicorn"), "bench.hello:app", "--port", str(port),
             "--log-level", "warning"], f"http://127.0.0.1:{port}", "hello", dict(os.environ))
        wait_up(f"{server.url}/hello/")
        return server

    def _spawn(self, argv: list[str], url: str, name: str, env: dict[str, str]) -> Server:
        log = open(self.tmp / f"{name}.log", "wb")  # noqa: SIM115 - closed on stop
        cwd = Path(__file__).resolve().parent.parent
        proc = subprocess.Popen(argv, env=env, cwd=cwd, stdout=log, stderr=subprocess.STDOUT)
        self._stack.callback(_stop, proc, log)
        self._processes[proc.pid] = (proc, log)
        return Server(url, proc.pid)

    def _embedded_servers(self) -> EmbeddedServers:
        if self._embedded is None:
            self._embedded = EmbeddedServers(self.tmp / "servers")
            self._stack.callback(self._embedded.close)
        return self._embedded


def _stop(proc: subprocess.Popen[bytes], log: object) -> None:
    proc.terminate()
    try:
        proc.wait(30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(10)
    with contextlib.suppress(Exception):
        log.close()  # type: ignore[attr-defined]


def _drop_database(admin_url: str, name: str) -> None:
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextlib.contextmanager
def servers() -> Iterator[Servers]:
    owned = Servers()
    try:
        yield owned
    finally:
        owned.close()
