"""PostgreSQL implementation of the zones read model (state as JSON, ends_at indexed)."""

from __future__ import annotations

from functools import cache
from uuid import UUID

from eventsourcing.persistence import Tracking
from psycopg.types.json import Jsonb

from domain.schedule_engine import ZoneFacts
from infra.postgres.view import PostgresView, Row
from projections.accounts import Page
from projections.playback import ZonesView, facts_of_row


class PostgresZonesView(PostgresView, ZonesView):
    schema_version = 2  # 2: the sound settings (crossfade, ducking, loudness) and in state
    ddl = (
        """CREATE TABLE IF NOT EXISTS {schema}.playback_zones (
            id uuid PRIMARY KEY, client_id uuid NOT NULL, name text NOT NULL,
            description text NOT NULL DEFAULT '', default_volume integer NOT NULL,
            volume integer NOT NULL, timezone text NOT NULL, is_active boolean NOT NULL,
            is_playing boolean NOT NULL, version integer NOT NULL, state jsonb NOT NULL,
            queue jsonb NOT NULL, ends_at timestamptz,
            schedule jsonb NOT NULL DEFAULT '{{}}',
            crossfade_s integer NOT NULL, ducking text NOT NULL, duck_level integer NOT NULL,
            target_lufs double precision NOT NULL,
            announcement_lift_lu double precision NOT NULL,
            created_at timestamptz NOT NULL, updated_at timestamptz NOT NULL)""",
        "CREATE INDEX IF NOT EXISTS playback_zones_client_idx"
        " ON {schema}.playback_zones (client_id, name)",
        "CREATE INDEX IF NOT EXISTS playback_zones_ends_idx"
        " ON {schema}.playback_zones (ends_at) WHERE ends_at IS NOT NULL",
    )

    def save_zone(self, row: Row, tracking: Tracking) -> None:
        """Insert or update the zone's row; a row without "queue" leaves the stored
        queue as it is (the projection knows it has not changed)."""
        params = {**row, "state": Jsonb(row["state"]), "schedule": Jsonb(row["schedule"])}
        if "queue" in row:
            params["queue"] = Jsonb(row["queue"])
        self._statement(_upsert(tuple(params)), params, tracking)

    def delete_zone(self, zone_id: UUID, tracking: Tracking) -> None:
        self._statement("DELETE FROM {schema}.playback_zones WHERE id = %(id)s", {"id": zone_id},
                    tracking)

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


@cache
def _upsert(columns: tuple[str, ...]) -> str:
    """Insert or update the whole row; without its queue, update the rest of the row
    (the row exists: its queue was written with it)."""
    sets = ", ".join(f"{c} = %({c})s" for c in columns if c != "id")
    if "queue" not in columns:
        return f"UPDATE {{schema}}.playback_zones SET {sets} WHERE id = %(id)s"
    return (f"INSERT INTO {{schema}}.playback_zones ({', '.join(columns)}) "
            f"VALUES ({', '.join(f'%({c})s' for c in columns)}) "
            f"ON CONFLICT (id) DO UPDATE SET {sets}")
