"""PostgreSQL implementation of the schedules read model."""

from __future__ import annotations

from uuid import UUID

from eventsourcing.persistence import Tracking
from psycopg.types.json import Jsonb

from infra.postgres.view import PostgresView, Row
from projections.accounts import Page
from projections.scheduling import SchedulesView


class PostgresSchedulesView(PostgresView, SchedulesView):
    schema_version = 2  # 2: created_by is the creating user's id (null: not a user)
    ddl = (
        """CREATE TABLE IF NOT EXISTS {schema}.schedules (
            id uuid PRIMARY KEY, client_id uuid NOT NULL, name text NOT NULL,
            type text NOT NULL, priority integer NOT NULL, zone_ids uuid[] NOT NULL,
            rule jsonb NOT NULL, is_active boolean NOT NULL, active_since timestamptz NOT NULL,
            created_by uuid, created_at timestamptz NOT NULL, updated_at timestamptz NOT NULL)""",
        "CREATE INDEX IF NOT EXISTS schedules_client_idx"
        " ON {schema}.schedules (client_id, priority DESC, name)",
        "CREATE INDEX IF NOT EXISTS schedules_zones_idx ON {schema}.schedules USING gin (zone_ids)",
    )

    def put_schedule(self, row: Row, tracking: Tracking) -> None:
        self._insert("schedules", {**row, "rule": Jsonb(row["rule"])}, tracking)

    def change_schedule(self, schedule_id: UUID, changes: Row, tracking: Tracking) -> None:
        if "rule" in changes:
            changes = {**changes, "rule": Jsonb(changes["rule"])}
        self._update("schedules", schedule_id, changes, tracking)

    def delete_schedule(self, schedule_id: UUID, tracking: Tracking) -> None:
        self._statement("DELETE FROM {schema}.schedules WHERE id = %(id)s", {"id": schedule_id},
                    tracking)

    def get_schedule(self, schedule_id: UUID) -> Row | None:
        return self._one("SELECT * FROM {schema}.schedules WHERE id = %(id)s",
                         {"id": schedule_id})

    def list_schedules(self, *, client_id: UUID | None, zone_id: UUID | None,
                       type: str | None, is_active: bool | None,  # noqa: A002
                       offset: int, limit: int) -> Page:
        conditions, params = [], {"client_id": client_id, "zone_id": zone_id, "type": type,
                                  "is_active": is_active}
        for column, test in (("client_id", "client_id = %(client_id)s"),
                             ("zone_id", "%(zone_id)s = ANY(zone_ids)"),
                             ("type", "type = %(type)s"),
                             ("is_active", "is_active = %(is_active)s")):
            if params[column] is not None:
                conditions.append(test)
        where = f"WHERE {' AND '.join(conditions)}" if conditions else ""
        count, rows = self._page(f"FROM {{schema}}.schedules {where}",
                                 "priority DESC, name, id", params, offset, limit)
        return Page(count, rows)

    def schedules_of_client(self, client_id: UUID) -> list[UUID]:
        with self.datastore.transaction(commit=False) as curs:
            curs.execute(self._q("SELECT id FROM {schema}.schedules WHERE client_id = %(c)s"),
                         {"c": client_id})
            return [r["id"] for r in curs.fetchall()]

    def active_schedules(self) -> list[Row]:
        with self.datastore.transaction(commit=False) as curs:
            curs.execute(self._q("SELECT id, rule, active_since FROM {schema}.schedules"
                                 " WHERE is_active"))
            return [dict(r) for r in curs.fetchall()]
