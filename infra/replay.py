"""Rebuild read models from the event store, and check them: `sync2gear replay`.

Every stateful read model (each of the container's ProjectionSpecs whose view
is a PostgresView) is rebuilt by its own projection code, the way the
projection engine applies events (infra/projected_view.py): the application's
notifications are read a page at a time and each page (its view writes and
the tracking position) commits as one transaction. Side-effect projections
(PositionView: jobs queued, live state published, queues cleaned) are never
replayed: that would queue the jobs and issue the commands again. Each view is
this release's version of it: its tables and tracking table named by its
schema version (infra/postgres/names.py); other versions are left alone.

By default each view is rebuilt into a scratch schema up to the live view's
position, compared with it (infra/replay_check.py) and the scratch schema is
dropped. `in_place=True` is for disaster recovery after restoring only the
event tables: the live views are dropped and rebuilt where they are, and the
side-effect projections move to the head of their application, so they do not
redo old effects. Projection runners must be stopped for that; their leader
locks are taken here (and held) to make sure.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

import psycopg
from eventsourcing.application import Application
from eventsourcing.postgres import PostgresDatastore
from psycopg import Connection, sql
from psycopg.rows import DictRow

from infra.bootstrap import Container
from infra.leadership import Leader
from infra.postgres import schema_lock
from infra.postgres.schema import drop_tables
from infra.postgres.view import PositionView
from infra.projected_view import BATCH, CommitPipeline, Events, ProjectedView, read_events
from infra.projection_runner import ProjectionSpec, tune_gc
from infra.read_ahead import read_ahead
from infra.replay_check import (
    Report,
    TableCheck,
    ViewResult,
    compare_table,
    count_rows,
    position,
    snapshot,
)

PAGE = BATCH
TStore = TypeVar("TStore", bound=PostgresDatastore)
Progress = Callable[[str, int, int, int], None]  # view, events replayed, position, target


class ReplayError(Exception):
    pass


class RunnersActive(ReplayError):
    def __init__(self, names: list[str]) -> None:
        super().__init__(f"projections still running: {', '.join(names)}; stop the projection"
                         " runners (and PROJECTIONS_IN_PROCESS APIs) before an in-place replay")


@dataclass
class Target:
    """One read model being rebuilt."""

    spec: ProjectionSpec
    app: Application[Any]
    datastore: PostgresDatastore
    view: Any  # the spec's PostgresView
    result: ViewResult
    on_progress: Progress

    def __post_init__(self) -> None:
        self.projected = ProjectedView(self.spec.projection_class, self.view, self.app.name)

    def rebuild(self, stop: int, page: int, conn: Connection[DictRow] | None = None) -> None:
        """Apply the events after the view's position, up to `stop`: a page per
        transaction (the next page read, and staged, while one is written), or all in
        the transaction `conn` has open."""
        began, app = time.perf_counter(), self.app

        def read(after: int, until: int | None) -> Events:
            return read_events(app, after, page, until)

        pipeline = None if conn is not None else CommitPipeline(self.projected)
        try:
            for events in read_ahead(read, self.result.position, page, stop):
                if pipeline is None:
                    self.projected.apply(events, conn)
                else:
                    pipeline.push(events)
                self._progress(events, stop)
            if pipeline is not None:
                pipeline.flush()
        finally:
            if pipeline is not None:
                pipeline.close()
        self.result.seconds += time.perf_counter() - began

    def _progress(self, events: Events, stop: int) -> None:
        self.result.position = events[-1][1].notification_id
        self.result.events += len(events)
        self.on_progress(self.result.name, self.result.events, self.result.position, stop)


def replay(container: Container, *, in_place: bool = False, keep: bool = False,
           verify: bool = True, views: Iterable[str] | None = None, page: int = PAGE,
           on_progress: Progress | None = None) -> Report:
    """Rebuild the read models named in `views` (default: all) and report on each."""
    if container.projections:
        raise ReplayError("replay needs a container that runs no projections itself"
                          " (bootstrap(start_projections=False)): they share zone caches")
    specs = _selected(container.specs, views)
    tune_gc()
    live_schema = container.es_env.get("POSTGRES_SCHEMA") or "public"
    schema = live_schema if in_place else f"replay_{uuid.uuid4().hex[:12]}"
    report = Report(schema, in_place, skipped=[s.projection_class.name for s in specs
                                                if not s.stateful])
    progress = on_progress or (lambda *_: None)
    if in_place:
        with _runners_stopped(container.database_url, [s.name for s in specs]):
            _in_place(container, specs, schema, page, progress, report)
        return report
    _execute(container.database_url, sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
    try:
        for spec in (s for s in specs if s.stateful):
            with _target(container, spec, schema, progress) as target:
                _rebuild_and_check(container, target, live_schema, page, verify)
                report.views.append(target.result)
    finally:
        if not keep:
            _execute(container.database_url,
                     sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(schema)))
    return report


def rebuild_rate(container: Container, app_name: str, page: int = PAGE) -> tuple[int, float]:
    """For the bench: rebuild every stateful read model of application `app_name`
    from its first event into a scratch schema (dropped after); (events, seconds),
    each event counted once per read model, reading the events included."""
    apps = _applications(container)
    names = [s.projection_class.name for s in container.specs
             if s.stateful and apps[s.application_class].name == app_name]
    report = replay(container, verify=False, views=names, page=page)
    return sum(v.events for v in report.views), sum(v.seconds for v in report.views)


def _rebuild_and_check(container: Container, target: Target, live_schema: str, page: int,
                       verify: bool) -> None:
    """Rebuild up to the live view's position, then compare both at one moment:
    in one REPEATABLE READ transaction that reads the live position, applies the
    events the live view has processed meanwhile, and compares the tables."""
    result, app_name, tracking = target.result, target.app.name, target.spec.tracking_table
    if not verify:
        target.rebuild(target.app.recorder.max_notification_id() or 0, page)
        return
    with snapshot(container.database_url) as (_, cur):
        first = position(cur, live_schema, tracking, app_name)
    target.rebuild(first, page)
    with snapshot(container.database_url) as (conn, cur):
        live = position(cur, live_schema, tracking, app_name)
        if live < result.position:
            result.note = f"the live view went back to {live}: was it rebuilt meanwhile?"
            return
        target.rebuild(live, page, conn)
        result.tables = [compare_table(cur, table, live_schema, target.datastore.schema,
                                       target.view.volatile())
                         for table in target.view.table_names()]
        result.verified = True


def _in_place(container: Container, specs: list[ProjectionSpec], schema: str, page: int,
              progress: Progress, report: Report) -> None:
    apps = _applications(container)
    for spec in specs:
        app = apps[spec.application_class]
        head = app.recorder.max_notification_id() or 0
        if not spec.stateful:
            _move_to(container, spec, app.name, head)
            report.advanced[spec.projection_class.name] = head
            continue
        _drop_view(container.database_url, spec, schema)
        with _target(container, spec, schema, progress) as target:
            target.rebuild(head, page)
            with snapshot(container.database_url) as (_, cur):
                target.result.tables = [TableCheck(t, rows=count_rows(cur, schema, t))
                                        for t in target.view.table_names()]
            report.views.append(target.result)


@contextmanager
def _target(container: Container, spec: ProjectionSpec, schema: str,
            progress: Progress) -> Iterator[Target]:
    """The spec's view on its own datastore in `schema` (tables created if missing)."""
    datastore = _datastore(container, schema, PostgresDatastore)
    try:
        view = spec.view_class(datastore, tracking_table_name=spec.tracking_table)
        with schema_lock(container.database_url):
            view.create_table()
        app = _applications(container)[spec.application_class]
        result = ViewResult(spec.projection_class.name, app.name,
                            position=view.max_tracking_id(app.name) or 0)
        yield Target(spec, app, datastore, view, result, progress)
    finally:
        datastore.close()


def _move_to(container: Container, spec: ProjectionSpec, app_name: str, head: int) -> None:
    """Set a side-effect projection's position to `head` (down, too: a restored
    event store may end before the position its projections had reached)."""
    schema = container.es_env.get("POSTGRES_SCHEMA") or "public"
    datastore = _datastore(container, schema, PostgresDatastore)
    try:
        view = PositionView(datastore, tracking_table_name=spec.tracking_table)
        view.create_table()
        table = sql.SQL("{}.{}").format(sql.Identifier(schema),
                                        sql.Identifier(view.tracking_table_name))
        with datastore.transaction(commit=True) as cur:
            cur.execute(sql.SQL("DELETE FROM {} WHERE application_name = %s").format(table),
                        (app_name,))
            if head:
                cur.execute(sql.SQL("INSERT INTO {} VALUES (%s, %s)").format(table),
                            (app_name, head))
    finally:
        datastore.close()


def _datastore(container: Container, schema: str, kind: type[TStore]) -> TStore:
    env = container.es_env
    return kind(dbname=env["POSTGRES_DBNAME"], host=env["POSTGRES_HOST"],
                port=env["POSTGRES_PORT"], user=env["POSTGRES_USER"],
                password=env["POSTGRES_PASSWORD"], schema=schema, pool_size=1, max_overflow=1)


def _drop_view(database_url: str, spec: ProjectionSpec, schema: str) -> None:
    _execute(database_url, drop_tables(
        schema, [*spec.view_class.table_names(), spec.tracking_table]))


@contextmanager
def _runners_stopped(database_url: str, names: list[str]) -> Iterator[None]:
    """Lead every named projection (refused while a runner leads one of them)."""
    with Leader(database_url, names) as leader:
        busy = sorted(set(names) - leader.acquire())
        if busy:
            raise RunnersActive(busy)
        yield


def _selected(specs: list[ProjectionSpec], names: Iterable[str] | None) -> list[ProjectionSpec]:
    if names is None:
        return list(specs)
    wanted, known = set(names), {s.projection_class.name for s in specs}
    if wanted - known:
        raise ReplayError(f"unknown read models {sorted(wanted - known)}; known: {sorted(known)}")
    return [s for s in specs if s.projection_class.name in wanted]


def _applications(container: Container) -> dict[type, Application[Any]]:
    return {type(app): app for app in container.applications}


def _execute(database_url: str, statement: sql.Composed) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(statement)
