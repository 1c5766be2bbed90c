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
        # A schedule's decisions (issue 16): an index the existing rows satisfy, so
        # version 1 keeps it (README, "Read-model versions").
        "CREATE INDEX IF NOT EXISTS zone_history_decisions_idx ON {schema}.zone_history"
        " (zone_id, (changes->>'schedule_id')) WHERE type = 'ScheduleDecided'",
        # Plays devices reported making offline (issue 17): every existing row is the
        # server's own, which the defaults say, so version 1 keeps these too.
        "ALTER TABLE {schema}.zone_plays ADD COLUMN IF NOT EXISTS source text NOT NULL"
        " DEFAULT 'server'",
        "ALTER TABLE {schema}.zone_plays ADD COLUMN IF NOT EXISTS device_id uuid",
    )

    def begin_batch(self) -> None:
        super().begin_batch()
        self._entries: list[Row] = []
        self._closes: list[Row] = []  # of plays opened before the batch
        self._plays: list[Row] = []  # started in the batch, in order
        self._open: dict[UUID, Row] = {}  # zone -> its play started in the batch, still open
        self._device_plays: list[Row] = []  # reported by devices, applied last

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

    def record_device_play(self, play: Row, tracking: Tracking) -> None:
        if not self.batching:
            self.begin_batch()
            self.record_device_play(play, tracking)
            with self.datastore.transaction(commit=True) as curs:
                run_statements(curs, self.seal_batch().statements)
                self._insert_tracking(curs, tracking)
            return
        self._device_plays.append(play)

    def _seal(self, batch: Batch) -> None:
        """Plays opened earlier end first (a zone has one open play at most), then the
        plays of the batch go in, ended or not, then the history entries."""
        batch.statements += [(self._q(_CLOSE), close) for close in self._closes]
        if self._device_plays:  # they cut the server's plays: those go in first, not by COPY
            batch.statements += [(self._q(_START), play) for play in self._plays]
        else:
            batch.insert_many(self._q(_START), self._q(_COPY_START), _PLAY_COLUMNS,
                              self._plays)
        for play in self._device_plays:
            batch.statements += [(self._q(query), play) for query in _DEVICE_PLAY]
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

    def summarize_plays(self, *, group: str, client_id: UUID | None, zone_id: UUID | None,
                        since: datetime | None, until: datetime | None, offset: int,
                        limit: int) -> tuple[Page, Row]:
        where, params = _started_in(group, client_id, zone_id, since, until)
        key, labels = _GROUPS[group]
        seconds = ("greatest(0, extract(epoch FROM coalesce(ended_at, now()) - started_at))")
        plays = f"(SELECT *, {seconds} AS seconds FROM {{schema}}.zone_plays WHERE {where}) p"
        count, rows = self._page(
            f"FROM (SELECT {key} AS key{labels}, count(*) AS plays,"
            f" round(sum(seconds)::numeric, 3) AS seconds FROM {plays} GROUP BY {key}) g",
            "seconds DESC, plays DESC, key", params, offset, limit)
        totals = self._one(f"SELECT count(*) AS plays, round(coalesce(sum(seconds), 0)::numeric,"
                           f" 3) AS seconds FROM {plays}", params)
        return Page(count, rows), totals or {"plays": 0, "seconds": 0}

    def list_decisions(self, zone_ids: list[UUID], since: datetime | None,
                       until: datetime | None, *, schedule_id: UUID | None = None,
                       action: str | None = None, limit: int = 10_000) -> list[Row]:
        conditions = ["h.type = 'ScheduleDecided'", "h.zone_id = ANY(%(zone_ids)s)",
                      f"{_SLOT_AT} >= coalesce(%(since)s::timestamptz, '-infinity')",
                      f"{_SLOT_AT} <= coalesce(%(until)s::timestamptz, 'infinity')"]
        if schedule_id is not None:
            conditions.append("h.changes->>'schedule_id' = %(schedule_id)s")
        if action is not None:
            conditions.append("h.changes->>'action' = %(action)s")
        with self.datastore.transaction(commit=False) as curs:
            curs.execute(self._q(
                f"SELECT h.zone_id, h.version, h.at, h.changes, {_SLOT_AT} AS slot_at"
                f" FROM {{schema}}.zone_history h WHERE {' AND '.join(conditions)}"
                " ORDER BY slot_at, h.zone_id, h.version LIMIT %(limit)s"),
                {"zone_ids": zone_ids, "since": since, "until": until, "limit": limit,
                 "schedule_id": None if schedule_id is None else str(schedule_id),
                 "action": action})
            return [dict(r) for r in curs.fetchall()]


def _started_in(group: str, client_id: UUID | None, zone_id: UUID | None,
                since: datetime | None, until: datetime | None) -> tuple[str, Row]:
    """Plays that started in [since, until] (a play counts once, in the range where it
    started), of the group's kind."""
    conditions = ["started_at >= coalesce(%(since)s::timestamptz, '-infinity')",
                  "started_at <= coalesce(%(until)s::timestamptz, 'infinity')"]
    if group in ("track", "announcement"):
        conditions.append("kind = %(kind)s")
    if client_id is not None:
        conditions.append("client_id = %(client_id)s")
    if zone_id is not None:
        conditions.append("zone_id = %(zone_id)s")
    return " AND ".join(conditions), {"since": since, "until": until, "kind": group,
                                      "client_id": client_id, "zone_id": zone_id}


# group -> (the grouping key, the labels kept beside it)
_GROUPS = {
    "zone": ("zone_id", ", min(client_id::text)::uuid AS client_id"),
    "track": ("item_id", ", min(title) AS title, min(artist) AS artist"),
    "announcement": ("item_id", ", min(title) AS title, min(artist) AS artist"),
    "client": ("client_id", ""),
}
# The instant a decision's slot names: "<schedule>@<opening>" for music windows and the
# fallback, "<window opening>|<count>" for track counts, else the slot's own instant.
_SLOT_AT = ("(CASE WHEN position('@' IN h.changes->>'slot') > 0"
            " THEN split_part(h.changes->>'slot', '@', 2)"
            " ELSE split_part(h.changes->>'slot', '|', 1) END)::timestamptz")


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

# A play a device reported making offline replaces, over its own [started_at, ended_at],
# the zone's plays as the server recorded them: one spanning it is split (its head
# inserted, the row itself becomes the tail), one overlapping its end starts at its end,
# one overlapping its start ends at its start, one inside it goes. Then the device's play
# goes in, once per id. Every step is idempotent.
_SERVER_PLAYS = "FROM {schema}.zone_plays WHERE zone_id = %(zone_id)s AND source = 'server'"
_DEVICE_PLAY = (
    "INSERT INTO {schema}.zone_plays (id, zone_id, client_id, kind, item_id, title, artist,"
    " duration_ms, schedule_id, started_at, ended_at, end_reason) SELECT"
    " md5(id::text || %(id)s::text)::uuid, zone_id, client_id, kind, item_id, title, artist,"
    " duration_ms, schedule_id, started_at, %(started_at)s, 'offline' " + _SERVER_PLAYS +
    " AND started_at < %(started_at)s AND coalesce(ended_at, 'infinity') > %(ended_at)s"
    " ON CONFLICT (id) DO NOTHING",
    "UPDATE {schema}.zone_plays SET started_at = %(ended_at)s WHERE zone_id = %(zone_id)s"
    " AND source = 'server' AND started_at < %(ended_at)s"
    " AND coalesce(ended_at, 'infinity') > %(ended_at)s",
    "UPDATE {schema}.zone_plays SET ended_at = %(started_at)s, end_reason = 'offline'"
    " WHERE zone_id = %(zone_id)s AND source = 'server' AND started_at < %(started_at)s"
    " AND ended_at > %(started_at)s AND ended_at <= %(ended_at)s",
    "DELETE " + _SERVER_PLAYS + " AND started_at >= %(started_at)s"
    " AND ended_at <= %(ended_at)s",
    "INSERT INTO {schema}.zone_plays (id, zone_id, client_id, kind, item_id, title, artist,"
    " duration_ms, schedule_id, started_at, ended_at, end_reason, source, device_id) VALUES"
    " (%(id)s, %(zone_id)s, %(client_id)s, %(kind)s, %(item_id)s, %(title)s, %(artist)s,"
    " %(duration_ms)s, %(schedule_id)s, %(started_at)s, %(ended_at)s, %(end_reason)s,"
    " %(source)s, %(device_id)s) ON CONFLICT (id) DO NOTHING",
)
