"""Runs projections: every view of the process on one engine, one active per view.

`start_engine()` starts, per application, one follower of its notifications
and one worker per view (infra/projection_engine.py); each view is led by one
process at a time (a PostgreSQL advisory lock named after it, infra/leadership.py),
so any number of processes may be started: per view one works, the others
stand by to take over. Runners never run DDL: `create_tables()` creates every
projection's tables once, in bootstrap, before any runner starts (DDL queued
behind a writer holding an events-table lock would hold up every later
writer). Each follower and worker reports its state (`status()`) for
`/api/ready/`.
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterable
from typing import Any

from infra.leadership import leader_lock_key
from infra.postgres import construct_view
from infra.projected_view import BATCH
from infra.projection_engine import Follower
from infra.projection_spec import ProjectionSpec
from infra.supervised import FAILING_AFTER, LoopStatus, Supervised

__all__ = ["FAILING_AFTER", "LoopStatus", "ProjectionSpec", "Supervised",
           "SupervisedProjection", "create_tables", "leader_lock_key", "start_engine",
           "tune_gc"]


def create_tables(specs: Iterable[ProjectionSpec], env: dict[str, str]) -> None:
    """Create (or migrate) every projection's tables; call under `schema_lock`."""
    for spec in specs:
        view = construct_view(spec.projection_class.name, spec.view_class, env)
        view.datastore.close()


YOUNG_GENERATION = 20_000


def tune_gc() -> None:
    """Projections make many short-lived objects (decoded events, rows): with
    Python's young generation of 700 objects the collector ran every few events and
    walked every long-lived object (the zones the projections keep) each time it
    reached the older generations: 20-30% of a rebuild. A larger young generation
    collects as much, less often."""
    gen0, gen1, gen2 = gc.get_threshold()
    gc.set_threshold(max(gen0, YOUNG_GENERATION), gen1, gen2)


def start_engine(specs: Iterable[ProjectionSpec], env: dict[str, str], database_url: str,
                 *, batch: int = BATCH, retry_seconds: float = 2.0,
                 views_built: Callable[[], bool] | None = None) -> list[Supervised]:
    """Start a follower per application and a worker per view; all of them, workers first
    (each reports its state). Until `views_built()`, only views with tables of their own
    are led (infra/projection_engine.py)."""
    tune_gc()
    by_app: dict[type[Any], list[ProjectionSpec]] = {}
    for spec in specs:
        by_app.setdefault(spec.application_class, []).append(spec)
    followers = [Follower(app, group, env, database_url, batch=batch,
                          retry_seconds=retry_seconds, views_built=views_built)
                 for app, group in by_app.items()]
    for follower in followers:
        follower.start()
    return [*(w for f in followers for w in f.workers), *followers]


class SupervisedProjection(Supervised):
    """One projection on an engine of its own (its follower and its view's worker):
    for a test, or a process that runs one view only."""

    def __init__(self, spec: ProjectionSpec, env: dict[str, str], database_url: str,
                 retry_seconds: float = 2.0) -> None:
        super().__init__(spec.name, f"projection-{spec.name}")
        self._follower = Follower(spec.application_class, [spec], env, database_url,
                                  retry_seconds=retry_seconds)
        (self._worker,) = self._follower.workers
        self.is_leader = self._worker.is_leader

    def start(self) -> None:
        self._follower.start()

    def request_stop(self) -> None:
        self._follower.request_stop()

    def join(self, timeout: float) -> bool:
        return self._follower.join(timeout)

    def status(self) -> LoopStatus:
        return self._worker.status()
