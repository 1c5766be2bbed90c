"""A base for PostgreSQL views: each write and its tracking row commit together."""

from __future__ import annotations

import re
from typing import Any
from uuid import UUID

from eventsourcing.persistence import Tracking
from eventsourcing.postgres import PostgresDatastore, PostgresTrackingRecorder
from psycopg import sql

Row = dict[str, Any]
_CREATE_TABLE = re.compile(r"CREATE TABLE (?:IF NOT EXISTS )?\{schema\}\.(\w+)", re.IGNORECASE)


class PostgresView(PostgresTrackingRecorder):
    """Subclasses list their DDL in `ddl` (with `{schema}` placeholders)."""

    ddl: tuple[str, ...] = ()
    volatile_columns: tuple[str, ...] = ()
    """`table.column`s not derived from the events alone (say, stamped with now()):
    `sync2gear replay` leaves them out when it compares a rebuilt view with the live one."""

    @classmethod
    def table_names(cls) -> tuple[str, ...]:
        """The tables `ddl` creates (for `sync2gear replay`)."""
        return tuple(dict.fromkeys(_CREATE_TABLE.findall("\n".join(cls.ddl))))

    def __init__(self, datastore: PostgresDatastore, **kwargs: Any) -> None:
        super().__init__(datastore, **kwargs)
        for statement in self.ddl:
            self.sql_create_statements.append(
                sql.SQL(statement).format(schema=sql.Identifier(self.datastore.schema))  # type: ignore[arg-type,unused-ignore]
            )

    def _table(self, name: str) -> sql.Composed:
        return sql.SQL("{}.{}").format(
            sql.Identifier(self.datastore.schema), sql.Identifier(name)
        )

    def _insert(self, table: str, row: Row, tracking: Tracking) -> None:
        statement = sql.SQL(
            "INSERT INTO {} ({}) VALUES ({}) ON CONFLICT (id) DO NOTHING"
        ).format(
            self._table(table),
            sql.SQL(", ").join(map(sql.Identifier, row)),
            sql.SQL(", ").join(map(sql.Placeholder, row)),
        )
        with self.datastore.transaction(commit=True) as curs:
            curs.execute(statement, row)
            self._insert_tracking(curs, tracking)

    def _update(self, table: str, row_id: UUID, changes: Row, tracking: Tracking) -> None:
        statement = sql.SQL("UPDATE {} SET {} WHERE id = {}").format(
            self._table(table),
            sql.SQL(", ").join(
                sql.SQL("{} = {}").format(sql.Identifier(k), sql.Placeholder(k))
                for k in changes
            ),
            sql.Placeholder("__id"),
        )
        with self.datastore.transaction(commit=True) as curs:
            curs.execute(statement, {**changes, "__id": row_id})
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

    def _q(self, query: str) -> sql.Composed:
        return sql.SQL(query).format(schema=sql.Identifier(self.datastore.schema))  # type: ignore[arg-type,unused-ignore]


class PositionView(PostgresTrackingRecorder):
    """Only a position: for projections whose output is elsewhere (jobs queued,
    Redis state published, commands issued)."""
