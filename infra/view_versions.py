"""Read-model versions: which versions of each view a database holds, which are built.

A release that changes a view bumps its `schema_version`; the new version's
tables (suffixed `_vN`: infra/postgres/names.py) are created empty at start-up,
and the projection engine builds them from the first event like any new view,
catching up alone, a page at a time (infra/projection_engine.py). Meanwhile the
old version's tables stay where they were: projection runners of the release
before keep them up to date and its API replicas keep reading them. Each
release reads only its own versions.

Every process records its release's view versions in `s2g_views` at start-up
(`register`, under the schema lock, before any runner starts). A version is
*building* from then until its position first comes within BUILT_WITHIN
events of its application's head; then it is *built*, for good (a view that
falls behind later is lagging, not building). While a view of its release is
building, a process's `/api/ready/` answers 503 (a load balancer keeps the old
replicas), and its leader loops and side-effect projections stand by (they
read read models: a half-built one would mislead them).

A version older than a built one is *superseded*. Its tables are dropped only
on request (`drop_superseded`, `sync2gear views`), once no runner of the old
release leads it any more.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import sql
from psycopg.rows import dict_row

from infra.leadership import Leader
from infra.postgres import connect, schema_lock
from infra.postgres.names import versioned
from infra.postgres.schema import SCHEMA_TABLE, drop_tables
from infra.projection_spec import ProjectionSpec
from infra.replay_check import Cursor, position

log = logging.getLogger(__name__)
REGISTRY = "s2g_views"
BUILT_WITHIN = 1000  # events behind its application's head at which a new version is built


@dataclass(frozen=True)
class ViewVersion:
    """One version of a view: the relations it owns."""

    view: str  # the projection's name
    version: int
    application: str
    tables: tuple[str, ...]
    tracking_table: str

    @property
    def name(self) -> str:
        """As its runner, leader lock and lag are named (`zones_view_v2`)."""
        return versioned(self.view, self.version)


@dataclass(frozen=True)
class Building:
    """A view version of this release that has not caught up yet."""

    name: str
    view: str
    version: int
    application: str
    position: int
    head: int

    @property
    def behind(self) -> int:
        return max(self.head - self.position, 0)

    def as_dict(self) -> dict[str, Any]:
        return {"view": self.view, "version": self.version, "application": self.application,
                "position": self.position, "head": self.head, "behind": self.behind}


@dataclass(frozen=True)
class ViewState(ViewVersion):
    """A recorded view version and where it is, for `sync2gear views`."""

    position: int
    head: int | None  # None: an application this release does not know
    built: bool
    current: bool  # this release's version of the view
    superseded: bool  # a newer version is built: its tables may be dropped
    existing: tuple[str, ...]  # of its tables and tracking table, those that exist

    @property
    def lag(self) -> int | None:
        return None if self.head is None else max(self.head - self.position, 0)


class SupersededInUse(Exception):
    def __init__(self, names: list[str]) -> None:
        super().__init__(f"still led by a runner of an older release: {', '.join(names)};"
                         " stop those runners before dropping their tables")
        self.names = names


class ViewVersions:
    """This release's view versions, in the registry of the database at `database_url`."""

    def __init__(self, database_url: str, schema: str, specs: Iterable[ProjectionSpec],
                 heads: Callable[[str], int], *, built_within: int = BUILT_WITHIN) -> None:
        self._url, self._schema, self._heads = database_url, schema, heads
        self._built_within = built_within
        self.release = [
            ViewVersion(s.projection_class.name, s.version, s.application_class.name,
                        tuple(s.view_class.table_names()), s.tracking_table)
            for s in specs if s.stateful]
        self._all_built = False

    def register(self) -> None:
        """Record this release's versions (at start-up, under `schema_lock`)."""
        with connect(self._url) as conn, conn.transaction():
            if not _exists(conn.cursor(row_factory=dict_row), self._schema, REGISTRY):
                conn.execute(self._sql(
                    "CREATE TABLE IF NOT EXISTS {} (view text, version integer,"
                    " application text NOT NULL, tables text[] NOT NULL,"
                    " tracking_table text NOT NULL, built_at timestamptz,"
                    " registered_at timestamptz NOT NULL DEFAULT now(),"
                    " PRIMARY KEY (view, version))"))
            conn.cursor().executemany(self._sql(
                "INSERT INTO {0} (view, version, application, tables, tracking_table)"
                " VALUES (%s, %s, %s, %s, %s) ON CONFLICT (view, version) DO UPDATE"
                " SET tables = ARRAY(SELECT DISTINCT unnest({0}.tables || excluded.tables))"
                " WHERE NOT {0}.tables @> excluded.tables"),
                [(v.view, v.version, v.application, list(v.tables), v.tracking_table)
                 for v in self.release])

    def all_built(self) -> bool:
        """Every view of this release has caught up once (False if that cannot be told)."""
        try:
            return self._all_built or not self.building()
        except Exception:
            log.warning("could not tell whether every view is built", exc_info=True)
            return False

    def building(self) -> list[Building]:
        """This release's views still building (those found caught up are marked built)."""
        if self._all_built:
            return []
        with connect(self._url) as conn, conn.cursor(row_factory=dict_row) as cur:
            cur.execute(self._sql("SELECT view, version FROM {} WHERE built_at IS NULL"))
            unbuilt = {(r["view"], r["version"]) for r in cur.fetchall()}
            found = [self._progress(cur, v) for v in self.release
                     if (v.view, v.version) in unbuilt]
        self._all_built = not any(found)
        return [b for b in found if b is not None]

    def _progress(self, cur: Cursor, v: ViewVersion) -> Building | None:
        at = position(cur, self._schema, v.tracking_table, v.application)
        head = self._heads(v.application)
        if head - at > self._built_within:
            return Building(v.name, v.view, v.version, v.application, at, head)
        cur.execute(self._sql("UPDATE {} SET built_at = now()"
                              " WHERE view = %s AND version = %s AND built_at IS NULL"),
                    (v.view, v.version))
        if cur.rowcount:  # not another thread or process, meanwhile
            log.info("%s v%s is built: at %s of %s", v.view, v.version, f"{at:,}", f"{head:,}")
        return None

    def describe(self) -> list[ViewState]:
        """Every registered version of every view, oldest first per view."""
        current = {(v.view, v.version) for v in self.release}
        with connect(self._url) as conn, conn.cursor(row_factory=dict_row) as cur:
            cur.execute(self._sql("SELECT * FROM {} ORDER BY view, version"))
            rows = cur.fetchall()
            newest_built: dict[str, int] = {}
            for r in rows:
                if r["built_at"] is not None:
                    newest_built[r["view"]] = r["version"]
            return [self._state(cur, r, (r["view"], r["version"]) in current,
                                r["version"] < newest_built.get(r["view"], 0)) for r in rows]

    def _state(self, cur: Cursor, r: dict[str, Any], current: bool,
               superseded: bool) -> ViewState:
        try:
            head: int | None = self._heads(r["application"])
        except KeyError:
            head = None
        tables = tuple(r["tables"])
        return ViewState(
            r["view"], r["version"], r["application"], tables, r["tracking_table"],
            position=position(cur, self._schema, r["tracking_table"], r["application"]),
            head=head, built=r["built_at"] is not None, current=current,
            superseded=superseded and not current,
            existing=tuple(t for t in (*tables, r["tracking_table"])
                           if _exists(cur, self._schema, t)))

    def drop_superseded(self, views: Iterable[str] | None = None) -> list[str]:
        """Drop the tables (and tracking tables) of every superseded version of the
        views named (default: all); the tables dropped. Raises SupersededInUse,
        dropping nothing, while a runner (of an older release) leads one of them."""
        states = self.describe()
        wanted = None if views is None else set(views)
        unknown = (wanted or set()) - {s.view for s in states}
        if unknown:
            raise ValueError(f"no versions recorded of {sorted(unknown)}")
        doomed = [s for s in states
                  if s.superseded and (wanted is None or s.view in wanted)]
        if not doomed:
            return []
        names = [s.name for s in doomed]
        with Leader(self._url, names) as leader:  # held while dropping: no runner starts
            busy = sorted(set(names) - leader.acquire())
            if busy:
                raise SupersededInUse(busy)
            with schema_lock(self._url), connect(self._url) as conn, conn.transaction():
                for s in doomed:
                    self._drop(conn, s)
        dropped = [t for s in doomed for t in s.existing]
        log.info("dropped superseded tables: %s", ", ".join(dropped) or "none")
        return dropped

    def _drop(self, conn: psycopg.Connection[Any], v: ViewState) -> None:
        schema = sql.Identifier(self._schema)
        conn.execute(drop_tables(self._schema, [*v.tables, v.tracking_table]))
        conn.execute(self._sql("DELETE FROM {} WHERE view = %s AND version = %s"),
                     (v.view, v.version))
        if _exists(conn.cursor(row_factory=dict_row), self._schema, SCHEMA_TABLE):
            conn.execute(sql.SQL("DELETE FROM {}.{} WHERE recorder = %s").format(
                schema, sql.Identifier(SCHEMA_TABLE)), (f"{self._schema}.{v.tracking_table}",))

    def _sql(self, text: str) -> sql.Composed:
        """`text` with `{}` (or `{0}`) naming the registry table."""
        return sql.SQL(text).format(sql.SQL("{}.{}").format(
            sql.Identifier(self._schema), sql.Identifier(REGISTRY)))


def _exists(cur: Cursor, schema: str, table: str) -> bool:
    cur.execute("SELECT to_regclass(%s) IS NOT NULL AS present",
                (f'"{schema}"."{table}"',))
    row = cur.fetchone()
    return bool(row and row["present"])
