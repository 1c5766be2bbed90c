"""Runs projections: supervised, restarted on failure, one active per projection.

Each projection takes a PostgreSQL advisory lock before it runs, so any number
of processes may be started for it: one works, the others wait to take over.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from dataclasses import dataclass
from typing import Any

import psycopg
from eventsourcing.application import Application
from eventsourcing.projection import Projection, ProjectionRunner

from infra.postgres import schema_lock

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ProjectionSpec:
    application_class: type[Application[Any]]
    projection_class: type[Projection[Any]]
    view_class: type[Any]


_CONSTRUCTING = threading.Lock()


def leader_lock_key(name: str) -> int:
    """The PostgreSQL advisory lock whose holder is the one active `name`
    (a projection runner, the ticker, the scheduler; replay takes them all)."""
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)


class SupervisedProjection:
    def __init__(
        self, spec: ProjectionSpec, env: dict[str, str], database_url: str,
        retry_seconds: float = 2.0,
    ) -> None:
        self.spec = spec
        self.name = spec.projection_class.name
        self._env = env
        self._database_url = database_url
        self._retry = retry_seconds
        self._stopping = threading.Event()
        self.is_leader = threading.Event()
        self._thread = threading.Thread(target=self._loop, name=f"projection-{self.name}",
                                        daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stopping.set()
        self._thread.join(timeout)

    def _loop(self) -> None:
        while not self._stopping.is_set():
            try:
                with psycopg.connect(self._database_url, autocommit=True) as lock_conn:
                    if self._take_lock(lock_conn):
                        self._run()
            except Exception:
                log.exception("projection %s failed; restarting", self.name)
            finally:
                self.is_leader.clear()
            self._stopping.wait(self._retry)

    def _take_lock(self, conn: psycopg.Connection[Any]) -> bool:
        while not self._stopping.is_set():
            key = leader_lock_key(self.name)
            row = conn.execute("SELECT pg_try_advisory_lock(%s)", (key,)).fetchone()
            if row and row[0]:
                return True
            self._stopping.wait(self._retry)
        return False

    def _run(self) -> None:
        self.is_leader.set()
        log.info("projection %s running", self.name)
        with _CONSTRUCTING, schema_lock(self._database_url):  # CREATEs can collide
            runner = ProjectionRunner(
                application_class=self.spec.application_class,
                projection_class=self.spec.projection_class,
                view_class=self.spec.view_class,
                env=self._env,
            )
        with runner:
            while not self._stopping.is_set():
                runner.run_forever(timeout=0.5)
                if runner.is_interrupted.is_set():
                    break
