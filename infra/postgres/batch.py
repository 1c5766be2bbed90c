"""Batches of view writes: many events' rows and the last position, one transaction.

A view asked to write while a batch is open does not touch the database: it
adds its statement to the batch. Plain updates of one row by its id are
merged (the row is written once with its last values), so a device that went
online and offline fifty times in a batch is updated once; any other
statement keeps its place in order. When the batch ends, its statements go
out in a pipeline (consecutive runs of one statement as one `executemany`),
then whatever the view deferred to the end (counts, sums), then the position,
and the transaction commits: the rows and the position commit together or not
at all.

The position moves by compare-and-set: the transaction first locks the view's
tracking row and checks it still holds the position the batch started from.
Should two processes ever project the same view at once (a leader whose
connection died unnoticed for a moment), the second one's batch fails instead
of applying its events a second time.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterator
from itertools import groupby
from typing import Any
from uuid import UUID

from psycopg import Cursor
from psycopg.rows import DictRow

Row = dict[str, Any]
Statement = tuple[str, Row]
Copy = tuple[str, list[tuple[Any, ...]]]
COPY_FROM = 32  # rows from which COPY beats a pipeline of INSERTs (half the client's work)


_DROPPED: Statement = ("", {})


class PositionMoved(Exception):
    """The view's stored position is not the one its batch started from."""


class Batch:
    """The statements of one batch, in order; plain by-id updates merged.

    `render_update(table, columns)` gives the view's `UPDATE table SET c = %(c)s, …
    WHERE id = %(__id)s`."""

    def __init__(self, render_update: Callable[[str, tuple[str, ...]], str]) -> None:
        self.statements: list[Statement] = []
        self.copies: list[Copy] = []  # plain inserts, many rows: after the statements
        self._updates: dict[tuple[str, UUID], Row] = {}
        self._keyed: dict[Hashable, int] = {}
        self._render = render_update

    def add(self, query: str, params: Row, *, key: Hashable | None = None,
            merge: Callable[[Row, Row], Row] | None = None) -> None:
        """A statement that must run in its place (it may read or change any row).

        A statement with a `key` overwrites what the earlier one with that key did
        (a recount of one folder, say): the earlier one is dropped, and this one
        runs in the place of the last, with `merge(earlier params, params)` if given
        (increments of one row add up). Only for statements nothing else in the
        batch reads the result of."""
        self.settle()
        if key is not None:
            index = self._keyed.get(key)
            if index is not None:
                earlier = self.statements[index]
                self.statements[index] = _DROPPED
                if merge is not None:
                    params = merge(earlier[1], params)
            self._keyed[key] = len(self.statements)
        self.statements.append((query, params))

    def insert_many(self, query: str, copy: str, columns: tuple[str, ...],
                    rows: list[Row]) -> None:
        """Plain inserts (no conflict handling) of many rows, after every statement:
        by COPY (`copy`: `COPY table (columns) FROM STDIN`) when there are many."""
        if len(rows) >= COPY_FROM:
            self.copies.append((copy, [tuple(row[c] for c in columns) for row in rows]))
        else:
            self.statements += [(query, row) for row in rows]

    def insert(self, table: str, row_id: UUID, query: str, params: Row) -> None:
        """A plain insert of one row; runs after the updates of that row queued before."""
        if (table, row_id) in self._updates:
            self.settle()
        self.statements.append((query, params))

    def update(self, table: str, row_id: UUID, changes: Row) -> None:
        """Set columns of one row by id (constants only): merged with its earlier updates."""
        pending = self._updates.pop((table, row_id), None)
        self._updates[(table, row_id)] = changes if pending is None else {**pending, **changes}

    def settle(self) -> None:
        """Queue the merged updates as statements (in the order their rows last changed)."""
        for (table, row_id), changes in self._updates.items():
            self.statements.append((self._render(table, tuple(changes)),
                                    {**changes, "__id": row_id}))
        self._updates.clear()


def run_statements(curs: Cursor[DictRow], statements: list[Statement]) -> int:
    """Execute in order, consecutive runs of one query as one executemany; how many."""
    count = 0
    for query, group in groupby((s for s in statements if s is not _DROPPED), key=_query):
        params = [p for _, p in group]
        if len(params) == 1:
            curs.execute(query, params[0], prepare=True)
        else:
            curs.executemany(query, params)
        count += len(params)
    return count


def run_copies(curs: Cursor[DictRow], copies: list[Copy]) -> int:
    """COPY each set of rows (outside pipeline mode); how many rows."""
    count = 0
    for statement, rows in copies:
        with curs.copy(statement) as copy:
            for row in rows:
                copy.write_row(row)
        count += len(rows)
    return count


def _query(statement: Statement) -> str:
    return statement[0]


def chunks(items: list[Any], size: int) -> Iterator[list[Any]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]
