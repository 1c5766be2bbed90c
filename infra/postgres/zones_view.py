"""PostgreSQL implementation of the zones read model (state as JSON, ends_at indexed)."""

from __future__ import annotations

from uuid import UUID

from eventsourcing.persistence import Tracking
from psycopg.types.json import Jsonb

from domain.schedule_engine import ZoneFacts
from infra.postgres.view import PostgresView, Row
from projections.accounts import Page
from projections.playback import ZonesView, facts_of_row


class PostgresZonesView(PostgresView, ZonesView):
    ddl = (
        """CREATE TABLE IF NOT EXISTS {schema}.playback_zones (
            id uuid PRIMARY KEY, client_id uuid NOT NULL, name text NOT NULL,
            description text NOT NULL DEFAULT '', default_volume integer NOT NULL,
            volume integer NOT NULL, timezone text NOT NULL, is_active boolean NOT NULL,
            is_playing boolean NOT NULL, version integer NOT NULL, state jsonb NOT NULL,
            queue jsonb NOT NULL, ends_at timestamptz,
            created_at timestamptz NOT NULL, updated_at timestamptz NOT NULL)""",
        "CREATE INDEX IF NOT EXISTS playback_zones_client_idx"
        " ON {schema}.playback_zones (client_id, name)",
        "ALTER TABLE {schema}.playback_zones"
        " ADD COLUMN IF NOT EXISTS schedule jsonb NOT NULL DEFAULT '{{}}'",
        "CREATE INDEX IF NOT EXISTS playback_zones_ends_idx"
        " ON {schema}.playback_zones (ends_at) WHERE ends_at IS NOT NULL",
    )

    def save_zone(self, row: Row, tracking: Tracking) -> None:
        row = {**row, "state": Jsonb(row["state"]), "queue": Jsonb(row["queue"]),
               "schedule": Jsonb(row["schedule"])}
        columns = [k for k in row if k != "id"]
        updates = ", ".join(f"{c} = EXCLUDED.{c}" for c in columns)
        statement = (
            f"INSERT INTO {{schema}}.playback_zones ({', '.join(row)}) "
            f"VALUES ({', '.join(f'%({k})s' for k in row)}) "
            f"ON CONFLICT (id) DO UPDATE SET {updates}"
        )
        with self.datastore.transaction(commit=True) as curs:
            curs.execute(self._q(statement), row)
            self._insert_tracking(curs, tracking)

    def delete_zone(self, zone_id: UUID, tracking: Tracking) -> None:
        with self.datastore.transaction(commit=True) as curs:
            curs.execute(self._q("DELETE FROM {schema}.playback_zones WHERE id = %(id)s"),
                         {"id": zone_id})
            self._insert_tracking(curs, tracking)

    def get_zone(self, zone_id: UUID) -> Row | None:
        return self._one("SELECT * FROM {schema}.playback_zones WHERE id = %(id)s",
                         {"id": zone_id})

    def list_zones(self, *, client_id: UUID | None, offset: int, limit: int) -> Page:
        where = "" if client_id is None else "WHERE client_id = %(client_id)s"
        count, rows = self._page(f"FROM {{schema}}.playback_zones {where}", "name, id",
                                 {"client_id": client_id}, offset, limit)
        return Page(count, rows)

    def zones_of_client(self, client_id: UUID) -> list[UUID]:
        with self.datastore.transaction(commit=False) as curs:
            curs.execute(self._q("SELECT id FROM {schema}.playback_zones"
                                 " WHERE client_id = %(c)s"), {"c": client_id})
            return [r["id"] for r in curs.fetchall()]

    def schedule_facts(self, zone_ids: list[UUID]) -> dict[UUID, ZoneFacts]:
        with self.datastore.transaction(commit=False) as curs:
            curs.execute(self._q("SELECT id, timezone, schedule FROM {schema}.playback_zones"
                                 " WHERE id = ANY(%(ids)s) AND is_active"), {"ids": zone_ids})
            return {r["id"]: facts_of_row(dict(r)) for r in curs.fetchall()}

    def due_zones(self, limit: int = 500) -> list[UUID]:
        with self.datastore.transaction(commit=False) as curs:
            curs.execute(self._q("SELECT id FROM {schema}.playback_zones"
                                 " WHERE ends_at <= now() ORDER BY ends_at LIMIT %(n)s"),
                         {"n": limit})
            return [r["id"] for r in curs.fetchall()]
