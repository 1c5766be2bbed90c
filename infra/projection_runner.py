"""Runs projections: supervised, restarted on failure, one active per projection.

Each projection takes a PostgreSQL advisory lock before it runs, so any number
of processes may be started for it: one works, the others wait to take over.
Runners never run DDL: `create_tables()` creates every projection's tables once,
in bootstrap, before any runner starts (DDL queued behind a writer holding an
events-table lock would hold up every later writer). Each supervisor reports
its state (`status()`) for `/api/ready/`.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import psycopg
from eventsourcing.application import Application
from eventsourcing.projection import Projection, ProjectionRunner

from infra.postgres import connect, construct_view

log = logging.getLogger(__name__)

FAILING_AFTER = 2  # consecutive failures before a loop counts as failing


@dataclass(frozen=True)
class ProjectionSpec:
    application_class: type[Application[Any]]
    projection_class: type[Projection[Any]]
    view_class: type[Any]


@dataclass(frozen=True)
class LoopStatus:
    """What a supervised loop is doing: `starting`, `standby` (another process
    leads), `running`, `failing` (restarting after errors) or `stopped`."""

    name: str
    state: str
    failures: int = 0
    last_error: str | None = None

    @property
    def healthy(self) -> bool:
        """Working, or retrying after a single failure (a dropped connection, say)."""
        return self.state != "stopped" and self.failures < FAILING_AFTER

    def as_dict(self) -> dict[str, Any]:
        return {"state": self.state, "failures": self.failures, "last_error": self.last_error}


class Supervised:
    """A daemon thread with a state, stopped on request within a deadline."""

    def __init__(self, name: str, thread_name: str) -> None:
        self.name = name
        self._stopping = threading.Event()
        self._state, self._failures = "starting", 0
        self._last_error: str | None = None
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._supervise, name=thread_name, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def request_stop(self) -> None:
        self._stopping.set()

    def join(self, timeout: float) -> bool:
        self._thread.join(max(timeout, 0.0))
        return not self._thread.is_alive()

    def stop(self, timeout: float = 10.0) -> None:
        self.request_stop()
        self.join(timeout)

    def status(self) -> LoopStatus:
        with self._lock:
            state = self._state
            if not self._thread.is_alive() and self._thread.ident is not None:
                state = "stopped"  # ended (asked to, or died): either way not working
            return LoopStatus(self.name, state, self._failures, self._last_error)

    def _set(self, state: str, *, error: BaseException | None = None,
             succeeded: bool = False) -> None:
        with self._lock:
            self._state = state
            if error is not None:
                self._failures += 1
                self._last_error = f"{type(error).__name__}: {error}"[:300]
            elif succeeded:
                self._failures, self._last_error = 0, None

    def _supervise(self) -> None:
        try:
            self._loop()
        finally:
            self._set("stopped")

    def _loop(self) -> None:
        raise NotImplementedError


def leader_lock_key(name: str) -> int:
    """The PostgreSQL advisory lock whose holder is the one active `name`
    (a projection runner, the ticker, the scheduler; replay takes them all)."""
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)


def try_lead(conn: psycopg.Connection[Any], name: str) -> bool:
    row = conn.execute("SELECT pg_try_advisory_lock(%s)", (leader_lock_key(name),)).fetchone()
    return bool(row and row[0])


def create_tables(specs: Iterable[ProjectionSpec], env: dict[str, str]) -> None:
    """Create (or migrate) every projection's tables; call under `schema_lock`."""
    for spec in specs:
        view = construct_view(spec.projection_class.name, spec.view_class, env)
        view.datastore.close()


class SupervisedProjection(Supervised):
    def __init__(
        self, spec: ProjectionSpec, env: dict[str, str], database_url: str,
        retry_seconds: float = 2.0,
    ) -> None:
        super().__init__(spec.projection_class.name, f"projection-{spec.projection_class.name}")
        self.spec = spec
        self._env = {**env, "CREATE_TABLE": "n"}  # tables exist: see create_tables()
        self._database_url = database_url
        self._retry = retry_seconds
        self.is_leader = threading.Event()
        self._runner: ProjectionRunner[Any, Any] | None = None

    def request_stop(self) -> None:
        super().request_stop()
        runner = self._runner
        if runner is not None:
            runner.stop()  # run_forever() returns at once

    def _loop(self) -> None:
        while not self._stopping.is_set():
            try:
                with connect(self._database_url) as lock_conn:
                    if self._take_lock(lock_conn):
                        self._run(lock_conn)
            except Exception as exc:
                log.exception("projection %s failed; restarting", self.name)
                self._set("failing", error=exc)
            finally:
                self.is_leader.clear()
            self._stopping.wait(self._retry)

    def _take_lock(self, conn: psycopg.Connection[Any]) -> bool:
        while not self._stopping.is_set():
            if try_lead(conn, self.name):
                return True
            self._set("standby", succeeded=True)  # connected; another process leads
            self._stopping.wait(self._retry)
        return False

    def _run(self, lock_conn: psycopg.Connection[Any]) -> None:
        self.is_leader.set()
        log.info("projection %s running", self.name)
        runner = ProjectionRunner(
            application_class=self.spec.application_class,
            projection_class=self.spec.projection_class,
            view_class=self.spec.view_class,
            env=self._env,
        )
        self._runner = runner
        try:
            with runner:
                self._set("running")
                last_check = time.monotonic()
                while not self._stopping.is_set() and not runner.is_interrupted.is_set():
                    runner.run_forever(timeout=0.5)
                    self._set("running", succeeded=True)
                    if time.monotonic() - last_check > 5:  # the lock lives with this session
                        lock_conn.execute("SELECT 1")
                        last_check = time.monotonic()
        finally:
            self._runner = None
