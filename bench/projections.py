"""Read models at the speed of the database: rebuild and live catch-up, per view.

The store is filled through the applications (bench/projection_store.py: a
library, zones driven at random, devices going on and offline, profile edits;
about 80,000 events in all). Then, per application:

* the baseline: a raw SELECT of all its stored events (psycopg, one query,
  rows fetched), the most any reader of them could do;
* `rebuild`: each read model rebuilt from the first event into a scratch
  schema, as `sync2gear replay` does (infra/replay.py), events per second;
* `live`: the projection engine (infra/projection_engine.py, as `sync2gear
  projections` runs it) started for one view at position 0, timed from its
  start until the view has reached the head; one view after the other.

Side-effect projections (jobs queued, live state published) are left out:
replaying them would queue the jobs again. Each figure is a ratio to the
raw SELECT of the same application's events in this run.
"""

from __future__ import annotations

import time
from typing import Any

import psycopg
from psycopg import sql

from bench.core import Context, Row
from bench.projection_store import Sizes, seed
from infra.bootstrap import Container, bootstrap
from infra.postgres.view import PostgresView
from infra.projection_runner import start_engine
from infra.replay import replay
from infra.settings import Settings

CATCH_UP_LIMIT = 600.0  # seconds before the live engine counts as stuck


def run(ctx: Context) -> list[Row]:
    servers = ctx.servers
    settings = Settings(  # a database of its own: the API of the other benches projects none
        database_url=servers.new_database(), redis_url=servers.redis_url,
        redis_prefix=f"{servers.env['REDIS_PREFIX']}projections:",
        data_dir=servers.tmp / "projections",
        projections_in_process=False, workers_in_process=False)
    container = bootstrap(settings, start_projections=False, start_workers=False)
    try:
        stored = seed(container, Sizes.of(ctx.quick))
        apps = {type(a): a for a in container.applications}
        specs = [s for s in container.specs if issubclass(s.view_class, PostgresView)
                 and stored.get(apps[s.application_class].name)]  # views of events stored
        by_name = {a.name: a for a in apps.values()}
        app_of = {s.projection_class.name: apps[s.application_class].name for s in specs}
        select = {name: _raw_select(container, by_name[name])
                  for name in sorted(set(app_of.values()))}
        live = _live(container, specs, app_of, stored)
        report = replay(container, verify=False, views=list(app_of))
        rows = [Row(key=f"projections.select.{name}",
                    measure=f"raw SELECT of {name}'s {stored[name]:,} events (baseline)",
                    per_s=rate, data={"events": stored[name]})
                for name, rate in select.items()]
        for view in report.views:
            base = select[view.application]
            rows.append(Row(
                key=f"projections.rebuild.{view.name}",
                measure=f"rebuild {view.name} ({view.events:,} events)",
                per_s=view.rate, note=f"{view.rate / base:.1%} of the raw SELECT; "
                                      f"target >= 30,000 events/s",
                data={"events": view.events, "seconds": view.seconds,
                      "select_per_s": base}))
        for name, (events, seconds) in live.items():
            rate, base = events / seconds, select[app_of[name]]
            rows.append(Row(
                key=f"projections.live.{name}",
                measure=f"live catch-up of {name} ({events:,} events from 0, its start included)",
                per_s=rate, note=f"{rate / base:.1%} of the raw SELECT; "
                                 f"target >= 20,000 events/s",
                data={"events": events, "seconds": seconds, "select_per_s": base}))
        return rows
    finally:
        container.close()


def _raw_select(container: Container, app: Any) -> float:
    """Rows per second of one SELECT of every stored event of `app`, fetched."""
    table = app.recorder.events_table_name
    with psycopg.connect(container.database_url) as conn:
        began = time.perf_counter()
        rows = conn.execute(sql.SQL("SELECT * FROM {} ORDER BY notification_id").format(
            sql.Identifier(table))).fetchall()
        seconds = time.perf_counter() - began
    return len(rows) / seconds


def _live(container: Container, specs: list[Any], app_of: dict[str, str],
          stored: dict[str, int]) -> dict[str, tuple[int, float]]:
    """Per view, alone: start an engine on it at position 0; (events, seconds) until
    it is at the head (the engine's start included)."""
    done: dict[str, tuple[int, float]] = {}
    with psycopg.connect(container.database_url, autocommit=True) as conn:
        for spec in specs:
            name = spec.projection_class.name
            head = stored[app_of[name]]
            began = time.perf_counter()
            loops = start_engine([spec], container.es_env, container.database_url)
            try:
                while _position(conn, spec.tracking_table, app_of[name]) < head:
                    if time.perf_counter() - began > CATCH_UP_LIMIT:
                        raise RuntimeError(f"{name} not caught up in {CATCH_UP_LIMIT:.0f} s")
                    time.sleep(0.005)
                done[name] = (head, time.perf_counter() - began)
            finally:
                for loop in loops:
                    loop.request_stop()
                for loop in loops:
                    loop.join(30)
    return done


def _position(conn: psycopg.Connection[Any], tracking_table: str, app_name: str) -> int:
    row = conn.execute(sql.SQL("SELECT max(notification_id) FROM {} WHERE application_name = %s")
                       .format(sql.Identifier(tracking_table)),
                       (app_name,)).fetchone()
    return int(row[0] or 0) if row else 0
