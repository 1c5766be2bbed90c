"""PostgreSQL implementation of zone history and proof of play."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from eventsourcing.persistence import Tracking
from psycopg.types.json import Jsonb

from infra.postgres.batch import Batch, run_statements
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

    def begin_batch(self) -> None:
        super().begin_batch()
        self._entries: list[Row] = []
        self._closes: list[Row] = []  # of plays opened before the batch
        self._plays: list[Row] = []  # started in the batch, in order
        self._open: dict[UUID, Row] = {}  # zone -> its play started in the batch, still open

    def record(self, entry: Row, close: Row | None, start: Row | None,
               tracking: Tracking) -> None:
        if not self.batching:  # on its own: a batch of one
            self.begin_batch()
            self.record(entry, close, start, tracking)
            with self.datastore.transaction(commit=True) as curs:
                run_statements(curs, self.seal_batch().statements)
                self._insert_tracking(curs, tracking)
            return
        self._entries.append({**entry, "changes": Jsonb(entry["changes"])})
        if close is not None:
            opened = self._open.pop(close["zone_id"], None)
            if opened is None:
                self._closes.append(close)
            else:  # a play of this batch: it goes in ended
                opened.update(ended_at=close["ended_at"], end_reason=close["end_reason"])
        if start is not None:
            play = {**start, "ended_at": None, "end_reason": None}
            self._plays.append(play)
            self._open[play["zone_id"]] = play

    def _seal(self, batch: Batch) -> None:
        """Plays opened earlier end first (a zone has one open play at most), then the
        plays of the batch go in, ended or not, then the history entries."""
        batch.statements += [(self._q(_CLOSE), close) for close in self._closes]
        batch.insert_many(self._q(_START), self._q(_COPY_START), _PLAY_COLUMNS, self._plays)
        batch.insert_many(self._q(_ENTRY), self._q(_COPY_ENTRY), _ENTRY_COLUMNS, self._entries)

    def list_entries(self, zone_id: UUID, since: datetime | None, until: datetime | None,
                     offset: int, limit: int) -> Page:
        count, rows = self._page(
            f"FROM {{schema}}.zone_history h {_HEARD} WHERE h.zone_id = %(zone_id)s"
            " AND h.at >= coalesce(%(since)s::timestamptz, '-infinity')"
            " AND h.at <= coalesce(%(until)s::timestamptz, 'infinity')", "version",
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


# What was heard just after each entry: the play open at the event's own `at` (the
# moment it changed what is heard; its record time when it has none). Read from the
# plays, so the stored entries need not repeat it.
_HEARD = ("LEFT JOIN LATERAL (SELECT p.title AS track, p.kind AS track_kind"
          " FROM {schema}.zone_plays p WHERE p.zone_id = h.zone_id"
          " AND p.started_at <= coalesce((h.changes->>'at')::timestamptz, h.at)"
          " AND coalesce(p.ended_at, 'infinity') > coalesce((h.changes->>'at')::timestamptz,"
          " h.at) ORDER BY p.started_at DESC LIMIT 1) heard ON true")
_ENTRY = ("INSERT INTO {schema}.zone_history (zone_id, version, at, type, actor_kind,"
          " actor_id, correlation_id, summary, changes) VALUES (%(zone_id)s, %(version)s,"
          " %(at)s, %(type)s, %(actor_kind)s, %(actor_id)s, %(correlation_id)s, %(summary)s,"
          " %(changes)s)")
_CLOSE = ("UPDATE {schema}.zone_plays SET ended_at = %(ended_at)s, end_reason = %(end_reason)s"
          " WHERE zone_id = %(zone_id)s AND ended_at IS NULL")
_START = ("INSERT INTO {schema}.zone_plays (id, zone_id, client_id, kind, item_id, title,"
          " artist, duration_ms, schedule_id, started_at, ended_at, end_reason) VALUES (%(id)s,"
          " %(zone_id)s, %(client_id)s, %(kind)s, %(item_id)s, %(title)s, %(artist)s,"
          " %(duration_ms)s, %(schedule_id)s, %(started_at)s, %(ended_at)s, %(end_reason)s)")
_ENTRY_COLUMNS = ("zone_id", "version", "at", "type", "actor_kind", "actor_id",
                  "correlation_id", "summary", "changes")
_PLAY_COLUMNS = ("id", "zone_id", "client_id", "kind", "item_id", "title", "artist",
                 "duration_ms", "schedule_id", "started_at", "ended_at", "end_reason")
_COPY_ENTRY = f"COPY {{schema}}.zone_history ({', '.join(_ENTRY_COLUMNS)}) FROM STDIN"
_COPY_START = f"COPY {{schema}}.zone_plays ({', '.join(_PLAY_COLUMNS)}) FROM STDIN"
