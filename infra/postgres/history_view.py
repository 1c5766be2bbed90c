"""PostgreSQL implementation of zone history and proof of play."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from eventsourcing.persistence import Tracking
from psycopg.types.json import Jsonb

from infra.postgres.view import PostgresView, Row
from projections.accounts import Page
from projections.history import ZoneHistoryView


class PostgresZoneHistoryView(PostgresView, ZoneHistoryView):
    ddl = (
        """CREATE TABLE IF NOT EXISTS {schema}.zone_history (
            zone_id uuid NOT NULL, version integer NOT NULL, at timestamptz NOT NULL,
            type text NOT NULL, actor_kind text NOT NULL, actor_id text NOT NULL,
            correlation_id text NOT NULL, summary text NOT NULL, changes jsonb NOT NULL,
            PRIMARY KEY (zone_id, version))""",
        "CREATE INDEX IF NOT EXISTS zone_history_at_idx ON {schema}.zone_history (zone_id, at)",
        """CREATE TABLE IF NOT EXISTS {schema}.zone_plays (
            id uuid PRIMARY KEY, zone_id uuid NOT NULL, client_id uuid NOT NULL,
            kind text NOT NULL, item_id uuid NOT NULL, title text NOT NULL,
            artist text NOT NULL, duration_ms integer NOT NULL, schedule_id text,
            started_at timestamptz NOT NULL, ended_at timestamptz, end_reason text)""",
        "CREATE INDEX IF NOT EXISTS zone_plays_zone_idx ON {schema}.zone_plays"
        " (zone_id, started_at)",
        "CREATE INDEX IF NOT EXISTS zone_plays_client_idx ON {schema}.zone_plays"
        " (client_id, started_at)",
        "CREATE UNIQUE INDEX IF NOT EXISTS zone_plays_open_idx ON {schema}.zone_plays (zone_id)"
        " WHERE ended_at IS NULL",
    )

    def record(self, entry: Row, close: Row | None, start: Row | None,
               tracking: Tracking) -> None:
        with self.datastore.transaction(commit=True) as curs:
            curs.execute(self._q(
                "INSERT INTO {schema}.zone_history (zone_id, version, at, type, actor_kind,"
                " actor_id, correlation_id, summary, changes) VALUES (%(zone_id)s,"
                " %(version)s, %(at)s, %(type)s, %(actor_kind)s, %(actor_id)s,"
                " %(correlation_id)s, %(summary)s, %(changes)s)"),
                {**entry, "changes": Jsonb(entry["changes"])})
            if close is not None:
                curs.execute(self._q(
                    "UPDATE {schema}.zone_plays SET ended_at = %(ended_at)s,"
                    " end_reason = %(end_reason)s"
                    " WHERE zone_id = %(zone_id)s AND ended_at IS NULL"), close)
            if start is not None:
                columns = ", ".join(start)
                values = ", ".join(f"%({k})s" for k in start)
                curs.execute(self._q(f"INSERT INTO {{schema}}.zone_plays ({columns})"
                                     f" VALUES ({values})"), start)
            self._insert_tracking(curs, tracking)

    def list_entries(self, zone_id: UUID, since: datetime | None, until: datetime | None,
                     offset: int, limit: int) -> Page:
        count, rows = self._page(
            "FROM {schema}.zone_history WHERE zone_id = %(zone_id)s"
            " AND at >= coalesce(%(since)s::timestamptz, '-infinity')"
            " AND at <= coalesce(%(until)s::timestamptz, 'infinity')", "version",
            {"zone_id": zone_id, "since": since, "until": until}, offset, limit)
        return Page(count, rows)

    def version_at(self, zone_id: UUID, at: datetime) -> int | None:
        row = self._one("SELECT max(version) AS v FROM {schema}.zone_history"
                        " WHERE zone_id = %(zone_id)s AND at <= %(at)s",
                        {"zone_id": zone_id, "at": at})
        return None if row is None or row["v"] is None else int(row["v"])

    def list_plays(self, *, client_id: UUID | None, zone_id: UUID | None,
                   since: datetime | None, until: datetime | None, offset: int,
                   limit: int) -> Page:
        conditions = ["coalesce(ended_at, 'infinity')"
                      " >= coalesce(%(since)s::timestamptz, '-infinity')",
                      "started_at <= coalesce(%(until)s::timestamptz, 'infinity')"]
        if client_id is not None:
            conditions.append("client_id = %(client_id)s")
        if zone_id is not None:
            conditions.append("zone_id = %(zone_id)s")
        count, rows = self._page(
            f"FROM {{schema}}.zone_plays WHERE {' AND '.join(conditions)}", "started_at, id",
            {"client_id": client_id, "zone_id": zone_id, "since": since, "until": until},
            offset, limit)
        return Page(count, rows)
