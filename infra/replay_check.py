"""What a replay found: each rebuilt read model compared with the live one.

`sync2gear replay` rebuilds a view into a scratch schema up to the live view's
tracking position; then one REPEATABLE READ transaction reads the live
position again, applies to the rebuilt view the events the live one processed
meanwhile, and compares the two: the live view cannot move between the check
of its position and the comparison of its rows, so a busy live view is
compared as well as an idle one. Rows are compared as multisets (`EXCEPT ALL`, both
ways) on every column except those that do not follow from the events: values
the database fills in by itself (sequences, identities, defaults calling
now(), random() and the like: they depend on when, and how often, rows were
written) and the columns a view declares in `volatile_columns`. Both kinds are
listed in the report, so nothing is left out silently.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import psycopg
from psycopg import IsolationLevel, sql
from psycopg.rows import DictRow, dict_row

Row = dict[str, Any]
Cursor = psycopg.Cursor[DictRow]
SAMPLES = 3
_FILLED_BY_DATABASE = re.compile(
    r"nextval\(|now\(\)|current_(timestamp|time|date)|localtimestamp|clock_timestamp"
    r"|statement_timestamp|transaction_timestamp|random\(|gen_random_uuid|uuid_generate",
    re.IGNORECASE,
)
_NO_EQUALITY = frozenset({"json", "xml", "point", "line", "polygon", "circle", "box", "path"})


@dataclass
class TableCheck:
    """One table: its rows in the rebuilt view, and the rows found on one side only."""

    table: str
    rows: int = 0
    live_only: int = 0
    rebuilt_only: int = 0
    samples: list[tuple[str, Row]] = field(default_factory=list)  # ("live"|"rebuilt", row)
    excluded: list[str] = field(default_factory=list)
    problem: str = ""

    @property
    def differences(self) -> int:
        return self.live_only + self.rebuilt_only + (1 if self.problem else 0)


@dataclass
class ViewResult:
    name: str
    application: str
    position: int = 0
    events: int = 0
    seconds: float = 0.0
    tables: list[TableCheck] = field(default_factory=list)
    verified: bool = False
    note: str = ""

    @property
    def differences(self) -> int:
        return sum(t.differences for t in self.tables)

    @property
    def rate(self) -> float:
        return self.events / self.seconds if self.seconds else 0.0


@dataclass
class Report:
    schema: str
    in_place: bool
    views: list[ViewResult] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # side effects, never replayed
    advanced: dict[str, int] = field(default_factory=dict)  # side effects moved to head

    @property
    def differences(self) -> int:
        return sum(v.differences for v in self.views)

    @property
    def unverified(self) -> list[str]:
        return [] if self.in_place else [v.name for v in self.views if not v.verified]


@contextmanager
def snapshot(database_url: str) -> Iterator[tuple[psycopg.Connection[DictRow], Cursor]]:
    """A REPEATABLE READ transaction: every query sees the same moment (and the
    transaction's own writes)."""
    with psycopg.connect(database_url, row_factory=dict_row) as conn:
        conn.isolation_level = IsolationLevel.REPEATABLE_READ
        with conn.transaction(), conn.cursor() as cur:
            yield conn, cur


def position(cur: Cursor, schema: str, tracking_table: str, app_name: str) -> int:
    """The tracking position of a view (0 if it has none, or no tracking table)."""
    cur.execute("SELECT to_regclass(%s) AS t", (f'"{schema}"."{tracking_table}"',))
    found = cur.fetchone()
    if found is None or found["t"] is None:
        return 0
    cur.execute(sql.SQL("SELECT max(notification_id) AS n FROM {}.{}"
                        " WHERE application_name = %s").format(
        sql.Identifier(schema), sql.Identifier(tracking_table)), (app_name,))
    row = cur.fetchone()
    return int(row["n"]) if row and row["n"] is not None else 0


def compare_table(cur: Cursor, table: str, live_schema: str, rebuilt_schema: str,
                  volatile: tuple[str, ...] = ()) -> TableCheck:
    check = TableCheck(table)
    live, rebuilt = _columns(cur, live_schema, table), _columns(cur, rebuilt_schema, table)
    if not live or not rebuilt:
        check.problem = f"table missing on the {'live' if not live else 'rebuilt'} side"
        return check
    if set(live) != set(rebuilt):
        check.problem = ("columns differ: live has "
                         f"{sorted(set(live) - set(rebuilt)) or 'no others'}, rebuilt has "
                         f"{sorted(set(rebuilt) - set(live)) or 'no others'}")
    check.excluded = [name for name, (_, default) in live.items()
                      if f"{table}.{name}" in volatile
                      or (default and _FILLED_BY_DATABASE.search(default))]
    columns = [(name, kind) for name, (kind, _) in live.items()
               if name in rebuilt and name not in check.excluded]
    a = (sql.Identifier(live_schema), sql.Identifier(table))
    b = (sql.Identifier(rebuilt_schema), sql.Identifier(table))
    check.live_only, samples = _except(cur, columns, a, b)
    check.samples += [("live", row) for row in samples]
    check.rebuilt_only, samples = _except(cur, columns, b, a)
    check.samples += [("rebuilt", row) for row in samples]
    check.rows = count_rows(cur, rebuilt_schema, table)
    return check


def count_rows(cur: Cursor, schema: str, table: str) -> int:
    cur.execute(sql.SQL("SELECT count(*) AS n FROM {}.{}").format(
        sql.Identifier(schema), sql.Identifier(table)))
    row = cur.fetchone()
    return int(row["n"]) if row else 0


def _columns(cur: Cursor, schema: str, table: str) -> dict[str, tuple[str, str | None]]:
    """Column name -> (type, default), in table order."""
    cur.execute("SELECT column_name, data_type, column_default, is_identity"
                " FROM information_schema.columns"
                " WHERE table_schema = %s AND table_name = %s ORDER BY ordinal_position",
                (schema, table))
    return {r["column_name"]: (r["data_type"], "nextval(" if r["is_identity"] == "YES"
                                                else r["column_default"])
            for r in cur.fetchall()}


def _except(cur: Cursor, columns: list[tuple[str, str]], first: tuple[sql.Identifier, ...],
            second: tuple[sql.Identifier, ...]) -> tuple[int, list[Row]]:
    """Rows of `first` missing from `second` (counting duplicates): how many, and a few."""
    select = sql.SQL(", ").join(
        sql.SQL("{}::text AS {}").format(sql.Identifier(name), sql.Identifier(name))
        if kind in _NO_EQUALITY else sql.Identifier(name)
        for name, kind in columns
    )
    cur.execute(sql.SQL(
        "SELECT d.*, count(*) OVER () AS __n FROM"
        " (SELECT {cols} FROM {}.{} EXCEPT ALL SELECT {cols} FROM {}.{}) AS d LIMIT {n}"
    ).format(*first, *second, cols=select, n=sql.Literal(SAMPLES)))
    rows = [dict(r) for r in cur.fetchall()]
    count = int(rows[0]["__n"]) if rows else 0
    for row in rows:
        del row["__n"]
    return count, rows
