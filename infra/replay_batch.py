"""Batched writes for replays: many events, one transaction, few round trips.

The views open `datastore.transaction(commit=True)` for each event's write and
tracking row, so a projection runner commits once per event and waits for
each statement. During a replay a whole page of events goes into one
transaction instead: while `BatchingDatastore.batch()` is open, every
connection and transaction a view asks for is the batch's connection, in
pipeline mode (statements are sent without waiting for their results), with
no savepoints (a failure aborts, and rolls back, the whole batch). A view
class wrapped by `batched()` keeps the batch's tracking position in memory
and writes it once, as the batch's last statement, in the same transaction:
the view and its position still commit together.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from eventsourcing.persistence import Tracking
from eventsourcing.postgres import PostgresDatastore, PostgresTrackingRecorder
from psycopg import Connection, Cursor
from psycopg.rows import DictRow

TView = TypeVar("TView", bound=PostgresTrackingRecorder)


class BatchingDatastore(PostgresDatastore):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.held: Connection[DictRow] | None = None

    @contextmanager
    def batch(self, conn: Connection[DictRow] | None = None) -> Iterator[Cursor[DictRow]]:
        """Everything written inside commits together at the end (or not at all);
        or, given `conn`, joins the transaction that connection has open."""
        if conn is not None:
            with self._holding(conn) as cursor:
                yield cursor
            return
        with super().get_connection() as own, own.transaction(), self._holding(own) as cursor:
            yield cursor

    @contextmanager
    def _holding(self, conn: Connection[DictRow]) -> Iterator[Cursor[DictRow]]:
        with conn.pipeline(), conn.cursor() as cursor:
            self.held = conn
            try:
                yield cursor
            finally:
                self.held = None

    @contextmanager
    def get_connection(self) -> Iterator[Connection[DictRow]]:
        if self.held is None:
            with super().get_connection() as conn:
                yield conn
        else:
            yield self.held

    @contextmanager
    def transaction(self, *, commit: bool = False) -> Iterator[Cursor[DictRow]]:
        if self.held is None:
            with super().transaction(commit=commit) as cursor:
                yield cursor
        else:
            with self.held.cursor() as cursor:
                yield cursor


class DeferredTracking(PostgresTrackingRecorder):
    """Inside a batch, remembers the latest tracking position instead of writing it."""

    deferred: Tracking | None = None

    def _insert_tracking(self, curs: Cursor[DictRow], tracking: Tracking) -> None:
        if isinstance(self.datastore, BatchingDatastore) and self.datastore.held is not None:
            self.deferred = tracking
        else:
            super()._insert_tracking(curs, tracking)

    def write_deferred(self, curs: Cursor[DictRow]) -> None:
        """Write the remembered position (call it last in the batch)."""
        if self.deferred is not None:
            super()._insert_tracking(curs, self.deferred)
            self.deferred = None


def batched(view_class: type[TView]) -> type[TView]:
    """`view_class` with its tracking position written once per batch."""
    return type(f"Batched{view_class.__name__}", (DeferredTracking, view_class), {})
