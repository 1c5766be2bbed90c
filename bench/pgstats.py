"""What PostgreSQL did during a measured stretch: statements, transactions, events.

Transactions come from `pg_stat_database` (commits and rollbacks of the run's
database); statements from `pg_stat_statements` when the server preloads it
(`shared_preload_libraries = 'pg_stat_statements'`; compose's PostgreSQL does,
the embedded one cannot: its build lacks the module, and then statements are
reported as unknown). Events are the rows the event tables gained.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import psycopg

FLUSH_SECONDS = 11
EVENT_TABLES = ("accounts_events", "library_events", "playback_events", "devices_events",
                "scheduling_events")


@dataclass(frozen=True)
class Counters:
    transactions: int
    statements: int | None
    events: int


def snapshot(database_url: str) -> Counters:
    """The database's counters, once every backend has flushed what it did."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        # An idle backend flushes its transaction counts within 10 s (PGSTAT_IDLE_INTERVAL).
        time.sleep(FLUSH_SECONDS)
        conn.execute("SELECT pg_stat_clear_snapshot()")
        row = conn.execute("SELECT xact_commit + xact_rollback FROM pg_stat_database "
                           "WHERE datname = current_database()").fetchone()
        transactions = int(row[0]) if row else 0
        return Counters(transactions, _statements(conn), _events(conn))


def _statements(conn: psycopg.Connection[tuple[object, ...]]) -> int | None:
    try:
        conn.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
        row = conn.execute("SELECT coalesce(sum(calls), 0) FROM pg_stat_statements "
                           "WHERE dbid = (SELECT oid FROM pg_database "
                           "WHERE datname = current_database())").fetchone()
    except psycopg.Error:  # not preloaded, or not installed
        return None
    return int(row[0]) if row else None  # type: ignore[call-overload]


def _events(conn: psycopg.Connection[tuple[object, ...]]) -> int:
    total = 0
    for table in EVENT_TABLES:
        row = conn.execute("SELECT to_regclass(%s)", (table,)).fetchone()
        if row and row[0]:
            found = conn.execute(f"SELECT count(*) FROM {table}").fetchone()  # noqa: S608
            total += int(found[0]) if found else 0  # type: ignore[call-overload]
    return total


def per(before: Counters, after: Counters, commands: int) -> dict[str, float | None]:
    """Statements and transactions per command and per event stored meanwhile."""
    events = after.events - before.events
    transactions = after.transactions - before.transactions
    statements = (after.statements - before.statements
                  if after.statements is not None and before.statements is not None else None)

    def ratio(value: int | None, of: int) -> float | None:
        return value / of if value is not None and of else None

    return {"commands": commands, "events": events,
            "transactions_per_command": ratio(transactions, commands),
            "statements_per_command": ratio(statements, commands),
            "transactions_per_event": ratio(transactions, events),
            "statements_per_event": ratio(statements, events)}
