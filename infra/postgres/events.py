"""The event store's writes: one statement, the events-table lock held only inside the server.

eventsourcing's PostgresApplicationRecorder sends BEGIN, LOCK TABLE, NOTIFY and
the INSERT in psycopg's pipeline mode. psycopg's pipeline stops flushing once its
queue of commands is empty (`pipeline_communicate` leaves the loop after one
`PQflush()` even when libpq still holds unsent bytes) and then waits to read. With
an INSERT of a few hundred kilobytes (a clock tick catching up a thousand short
tracks after a downtime, a play of a large folder) the end of the statement never
leaves the client: the server waits in ClientRead holding the EXCLUSIVE lock, no
timeout of PostgreSQL's applies to a half-received message, and every writer of
that context queues behind it for good (issue 12, finding 9).

Here a save is one statement, `SELECT … FROM s2g_insert_<table>(events)`, sent
whole before psycopg waits for its result (psycopg's ordinary mode flushes until
libpq's buffer is empty). A PL/pgSQL function takes the lock, notifies and
inserts, and the implicit transaction commits when the statement ends: the lock is
never held while the server waits for the client, and a save is a single round
trip. Lock waits end at the connection's `lock_timeout`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from eventsourcing.persistence import InterfaceError, OperationalError, StoredEvent
from eventsourcing.postgres import PostgresApplicationRecorder, PostgresDatastore
from eventsourcing.utils import retry
from psycopg.sql import SQL, Identifier

_MAX_IDENTIFIER = 63


class LockingApplicationRecorder(PostgresApplicationRecorder):
    """An application recorder whose `insert_events` is one server-side call."""

    def __init__(self, datastore: PostgresDatastore, *,
                 events_table_name: str = "stored_events") -> None:
        super().__init__(datastore, events_table_name=events_table_name)
        function = f"s2g_insert_{events_table_name}"[:_MAX_IDENTIFIER]
        names = {
            "schema": Identifier(self.datastore.schema), "function": Identifier(function),
            "table": Identifier(self.events_table_name),
            "type": Identifier(self.stored_event_type_name),
            "channel": Identifier(self.channel_name),
        }
        self.sql_create_statements.append(SQL(
            "CREATE OR REPLACE FUNCTION {schema}.{function}(events {schema}.{type}[]) "
            "RETURNS SETOF bigint LANGUAGE plpgsql AS $body$ BEGIN "
            "LOCK TABLE {schema}.{table} IN EXCLUSIVE MODE; "
            "NOTIFY {channel}; "
            "RETURN QUERY INSERT INTO {schema}.{table} "
            "(originator_id, originator_version, topic, state) "
            "SELECT originator_id, originator_version, topic, state FROM unnest(events) "
            "RETURNING notification_id; "
            "END $body$").format(**names))
        self.insert_function_name = function
        self._call_insert = SQL(
            "SELECT notification_id FROM {schema}.{function}(%s) AS ids(notification_id)"
        ).format(**names)

    @retry((InterfaceError, OperationalError), max_attempts=10, wait=0.2)
    def insert_events(self, stored_events: Sequence[StoredEvent],
                      **kwargs: Any) -> Sequence[int] | None:
        if not stored_events:
            return None
        rows = [self.construct_pg_stored_event(e.originator_id, e.originator_version,
                                               e.topic, e.state) for e in stored_events]
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            curs.execute(self._call_insert, (rows,), prepare=True)
            return [row["notification_id"] for row in curs.fetchall()]
