"""A base for PostgreSQL views: a batch of events' writes and its position commit together.

The projection engine (infra/projection_engine.py) opens a batch on a view,
hands it the batch's events through its projection, and commits it: every
write the view was asked for and the batch's last position, in one
transaction (infra/postgres/batch.py). A write asked for outside a batch
commits at once with its own tracking row, as a single-event batch would.

A view has a schema version (`schema_version`, 1 unless bumped): from version 2
on, its tables, indexes and tracking table are suffixed `_vN` wherever its DDL
and queries name them (`{schema}.<table>`, rendered by `_q`), so a release that
changes a view builds the new version beside the old one (infra/postgres/names.py,
infra/view_versions.py). Its author only bumps the number and edits the SQL.
"""

from __future__ import annotations

import re
from functools import cache
from typing import Any, ClassVar
from uuid import UUID

from eventsourcing.persistence import Tracking
from eventsourcing.postgres import PostgresDatastore, PostgresTrackingRecorder
from psycopg import Connection, Cursor, errors, sql
from psycopg.rows import DictRow

from infra.postgres.batch import Batch, PositionMoved, Row, run_copies, run_statements
from infra.postgres.names import versioned

__all__ = ["BatchedRecorder", "PositionMoved", "PositionView", "PostgresView", "Row"]

_CREATE_TABLE = re.compile(r"CREATE TABLE (?:IF NOT EXISTS )?\{schema\}\.(\w+)", re.IGNORECASE)
_TABLE_REF = re.compile(r"\{schema\}\.(\w+)")
_OWN_NAME = re.compile(  # relations named without a schema: an index, a constraint
    r"(CREATE\s+(?:UNIQUE\s+)?INDEX\s+(?:CONCURRENTLY\s+)?(?:IF\s+NOT\s+EXISTS\s+)?"
    r"|CONSTRAINT\s+)(?!(?:IF|ON)\b)(\w+)", re.IGNORECASE)  # not `INDEX ON`, `… IF EXISTS`


class BatchedRecorder(PostgresTrackingRecorder):
    """A tracking recorder whose writes can be gathered into batches."""

    def __init__(self, datastore: PostgresDatastore, **kwargs: Any) -> None:
        super().__init__(datastore, **kwargs)
        assert self.datastore.single_row_tracking, "batches move a single-row position"
        self._batch: Batch | None = None
        self._rendered: dict[str, str] = {}
        # Both fail the batch (rolling back its rows) unless the position is still
        # where the batch started: a first position fails on the key if there is one,
        # a move divides by the number of rows moved (0: another runner moved it). So
        # a batch needs no round trip before its commit to check its position.
        self._first_position = self._q(
            f"INSERT INTO {{schema}}.{self.tracking_table_name} VALUES (%(app)s, %(to)s)")
        self._move_position = self._q(
            f"WITH moved AS (UPDATE {{schema}}.{self.tracking_table_name}"
            " SET notification_id = %(to)s"
            " WHERE application_name = %(app)s AND notification_id = %(from)s RETURNING 1)"
            " SELECT 1 / count(*) FROM moved")

    # -- batches (the projection engine and replay) ----------------------------------

    def begin_batch(self) -> None:
        self._batch = Batch(self._update_query)

    def abort_batch(self) -> None:
        """Forget the open batch (nothing of it was written)."""
        self._batch = None

    def seal_batch(self) -> Batch:
        """Close the open batch: its statements, ready to be written (the view can
        begin the next batch while this one is written)."""
        batch, self._batch = self._batch, None
        assert batch is not None, "no batch is open"
        self._seal(batch)
        batch.settle()
        return batch

    def _seal(self, batch: Batch) -> None:
        """Add to `batch` what the view held back to its end (subclasses)."""

    def write_batch(self, batch: Batch, app_name: str, start: int | None, end: int,
                    conn: Connection[DictRow] | None = None) -> int:
        """Write a sealed batch and move the position from `start` to `end`, in one
        transaction: `conn`'s open one if given (the caller commits), else a new one.
        Raises PositionMoved (nothing written) if the position is not `start`.
        Returns the statements the batch's rows took. Without copies, the whole batch
        (rows, position, commit) goes out in one pipeline: one round trip."""
        try:
            if conn is not None:
                with conn.cursor() as curs:
                    return self._write_sealed(curs, batch, app_name, start, end)
            with self.datastore.get_connection() as own:
                if batch.copies:  # COPY cannot run in pipeline mode
                    with own.transaction(), own.cursor() as curs:
                        return self._write_sealed(curs, batch, app_name, start, end)
                with own.pipeline(), own.transaction(), own.cursor() as curs:
                    return self._write_sealed(curs, batch, app_name, start, end)
        except Exception as exc:  # psycopg's error, or eventsourcing's wrapping it
            cause = exc if isinstance(exc, errors.Error) else exc.__cause__
            if isinstance(cause, errors.DivisionByZero) or (
                    isinstance(cause, errors.UniqueViolation)
                    and cause.diag.table_name == self.tracking_table_name):
                raise PositionMoved(f"{self.tracking_table_name}: {app_name} is no longer at"
                                    f" {start}: another runner projects this view") from exc
            raise

    def commit_batch(self, app_name: str, start: int | None, end: int,
                     conn: Connection[DictRow] | None = None) -> int:
        """Seal the open batch and write it (see write_batch)."""
        return self.write_batch(self.seal_batch(), app_name, start, end, conn)

    def _write_sealed(self, curs: Cursor[DictRow], batch: Batch, app_name: str,
                      start: int | None, end: int) -> int:
        written = run_statements(curs, batch.statements)
        written += run_copies(curs, batch.copies)
        if start is None:
            curs.execute(self._first_position, {"app": app_name, "to": end}, prepare=True)
        else:
            curs.execute(self._move_position, {"app": app_name, "from": start, "to": end},
                         prepare=True)
        return written

    @property
    def batching(self) -> bool:
        return self._batch is not None

    def insert_tracking(self, tracking: Tracking) -> None:
        if self._batch is None:  # in a batch the position is written once, at its end
            super().insert_tracking(tracking)

    # -- writes ------------------------------------------------------------------------

    def _statement(self, query: str, params: Row, tracking: Tracking) -> None:
        """A statement (`{schema}` placeholders) that runs in its place in the batch."""
        self._write_many([query], params, tracking)

    def _write_many(self, queries: list[str], params: Row, tracking: Tracking) -> None:
        if self._batch is not None:
            for query in queries:
                self._batch.add(self._q(query), params)
            return
        with self.datastore.transaction(commit=True) as curs:
            for query in queries:
                curs.execute(self._q(query), params)
            self._insert_tracking(curs, tracking)

    def _q(self, query: str) -> str:
        """`query` with its `{schema}` placeholders filled in and the view's own tables
        named by its version (rendered once)."""
        rendered = self._rendered.get(query)
        if rendered is None:
            rendered = sql.SQL(self.versioned_sql(query)).format(  # type: ignore[arg-type,unused-ignore]
                schema=sql.Identifier(self.datastore.schema)).as_string(None)
            self._rendered[query] = rendered
        return rendered

    @classmethod
    def versioned_sql(cls, text: str) -> str:
        """`text` with the view's own relations named as its schema version names them."""
        return text

    def _update_query(self, table: str, columns: tuple[str, ...]) -> str:
        sets = ", ".join(f'"{c}" = %({c})s' for c in columns)
        return self._q(f"UPDATE {{schema}}.{table} SET {sets} WHERE id = %(__id)s")


class PostgresView(BatchedRecorder):
    """Subclasses list their DDL in `ddl` (with `{schema}` placeholders), name their
    tables `{schema}.<table>` in every query, and bump `schema_version` whenever a
    release changes the DDL in a way the rows already written do not follow (a new
    column filled from the events, a changed meaning): the new version is then
    built from the events beside the old one, and replaces it once caught up."""

    ddl: tuple[str, ...] = ()
    schema_version: ClassVar[int] = 1
    volatile_columns: tuple[str, ...] = ()
    """`table.column`s not derived from the events alone (say, stamped with now()):
    `sync2gear replay` leaves them out when it compares a rebuilt view with the live one."""

    @classmethod
    def table_names(cls) -> tuple[str, ...]:
        """The tables `ddl` creates, as this version names them."""
        return tuple(versioned(t, cls.schema_version) for t in cls._own_tables())

    @classmethod
    def volatile(cls) -> tuple[str, ...]:
        """`volatile_columns`, their tables as this version names them."""
        own, version = cls._own_tables(), cls.schema_version
        pairs = (c.split(".", 1) for c in cls.volatile_columns)
        return tuple(f"{versioned(t, version) if t in own else t}.{c}" for t, c in pairs)

    @classmethod
    def _own_tables(cls) -> tuple[str, ...]:
        return _created_tables(cls.ddl)

    @classmethod
    def versioned_sql(cls, text: str) -> str:
        """`text` with every `{schema}.<table>` of the view's own tables, and every index
        and constraint it names, suffixed `_vN` (version N > 1; unchanged in version 1).
        Names PostgreSQL makes up (`<table>_pkey`) follow the table's: a query that
        names a constraint (`ON CONFLICT ON CONSTRAINT`) names one its DDL named."""
        version = cls.schema_version
        if version == 1:
            return text
        own = cls._own_tables()
        text = _TABLE_REF.sub(lambda m: "{schema}." + (
            versioned(m[1], version) if m[1] in own else m[1]), text)
        return _OWN_NAME.sub(lambda m: m[1] + versioned(m[2], version), text)

    def __init__(self, datastore: PostgresDatastore, **kwargs: Any) -> None:
        super().__init__(datastore, **kwargs)
        for statement in self.ddl:
            self.sql_create_statements.append(
                sql.SQL(self.versioned_sql(statement)).format(  # type: ignore[arg-type,unused-ignore]
                    schema=sql.Identifier(self.datastore.schema))
            )

    def _table(self, name: str) -> sql.Composed:
        """`name` in the view's schema (one of its own tables as its version names it)."""
        if name in self._own_tables():
            name = versioned(name, self.schema_version)
        return sql.SQL("{}.{}").format(
            sql.Identifier(self.datastore.schema), sql.Identifier(name)
        )

    def _insert(self, table: str, row: Row, tracking: Tracking) -> None:
        columns = ", ".join(f'"{c}"' for c in row)
        values = ", ".join(f"%({c})s" for c in row)
        query = self._q(f"INSERT INTO {{schema}}.{table} ({columns}) VALUES ({values})"
                        " ON CONFLICT (id) DO NOTHING")
        if self._batch is not None:
            self._batch.insert(table, row["id"], query, row)
            return
        with self.datastore.transaction(commit=True) as curs:
            curs.execute(query, row)
            self._insert_tracking(curs, tracking)

    def _update(self, table: str, row_id: UUID, changes: Row, tracking: Tracking) -> None:
        """Set columns of one row to constants (merged with the row's other updates in
        a batch: use `_write` for anything that reads the table)."""
        if self._batch is not None:
            self._batch.update(table, row_id, changes)
            return
        with self.datastore.transaction(commit=True) as curs:
            curs.execute(self._update_query(table, tuple(changes)), {**changes, "__id": row_id})
            self._insert_tracking(curs, tracking)

    def _one(self, query: str, params: Row) -> Row | None:
        with self.datastore.transaction(commit=False) as curs:
            curs.execute(self._q(query), params)
            row = curs.fetchone()
        return dict(row) if row is not None else None

    def _page(
        self, source: str, order: str, params: Row, offset: int, limit: int
    ) -> tuple[int, list[Row]]:
        """`SELECT * {source} ORDER BY {order}`, one page of it, and the total count."""
        with self.datastore.transaction(commit=False) as curs:
            curs.execute(
                self._q(
                    f"SELECT count(*) OVER () AS __count, * {source} ORDER BY {order}"
                    " LIMIT %(__limit)s OFFSET %(__offset)s"
                ),
                {**params, "__limit": limit, "__offset": offset},
            )
            rows = [dict(r) for r in curs.fetchall()]
            if not rows and offset:
                curs.execute(self._q(f"SELECT count(*) AS n {source}"), params)
                one = curs.fetchone()
                return (int(one["n"]) if one else 0), []
        count = int(rows[0]["__count"]) if rows else 0
        for r in rows:
            del r["__count"]
        return count, rows


@cache
def _created_tables(ddl: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(_CREATE_TABLE.findall("\n".join(ddl))))


class PositionView(BatchedRecorder):
    """Only a position: for projections whose output is elsewhere (jobs queued,
    Redis state published, commands issued)."""
