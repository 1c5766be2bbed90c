"""PostgreSQL implementation of the devices read model."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from eventsourcing.persistence import Tracking

from infra.postgres.view import PostgresView, Row
from projections.accounts import Page
from projections.devices import DevicesView


class PostgresDevicesView(PostgresView, DevicesView):
    # 2: pairing codes (created, used; expired ones leave), for housekeeping
    schema_version = 2
    ddl = (
        """CREATE TABLE IF NOT EXISTS {schema}.devices (
            id uuid PRIMARY KEY, client_id uuid NOT NULL, zone_id uuid NOT NULL,
            device_id text NOT NULL, name text NOT NULL, device_type text NOT NULL,
            model text NOT NULL DEFAULT '', firmware_version text NOT NULL DEFAULT '',
            volume integer NOT NULL DEFAULT 70, ip_address text,
            is_online boolean NOT NULL DEFAULT false, last_seen timestamptz,
            has_token boolean NOT NULL DEFAULT false, created_by text,
            created_at timestamptz NOT NULL, updated_at timestamptz NOT NULL)""",
        "CREATE INDEX IF NOT EXISTS devices_client_idx"
        " ON {schema}.devices (client_id, zone_id, name)",
        "CREATE INDEX IF NOT EXISTS devices_hardware_idx ON {schema}.devices (device_id)",
        "CREATE INDEX IF NOT EXISTS devices_online_idx ON {schema}.devices (id) WHERE is_online",
        """CREATE TABLE IF NOT EXISTS {schema}.devices_pairing_codes (
            id uuid PRIMARY KEY, client_id uuid NOT NULL, zone_id uuid NOT NULL,
            expires_at timestamptz NOT NULL, used_by uuid, created_at timestamptz NOT NULL)""",
        "CREATE INDEX IF NOT EXISTS devices_pairing_codes_unused_idx"
        " ON {schema}.devices_pairing_codes (expires_at) WHERE used_by IS NULL",
    )

    def put(self, row: Row, tracking: Tracking) -> None:
        self._insert("devices", row, tracking)

    def change(self, device_id: UUID, changes: Row, tracking: Tracking) -> None:
        self._update("devices", device_id, changes, tracking)

    def remove(self, device_id: UUID, tracking: Tracking) -> None:
        self._statement("DELETE FROM {schema}.devices WHERE id = %(id)s", {"id": device_id},
                    tracking)

    # -- queries -------------------------------------------------------------------

    def get(self, device_id: UUID) -> Row | None:
        return self._one("SELECT * FROM {schema}.devices WHERE id = %(id)s", {"id": device_id})

    def list_devices(self, *, client_id: UUID | None, zone_id: UUID | None, offset: int,
                     limit: int) -> Page:
        filters = {"client_id": client_id, "zone_id": zone_id}
        clauses = [f"{name} = %({name})s" for name, value in filters.items()
                   if value is not None]
        where = ("WHERE " + " AND ".join(clauses)) if clauses else ""
        count, rows = self._page(f"FROM {{schema}}.devices {where}", "name, id", filters,
                                 offset, limit)
        return Page(count, rows)

    def online_device_ids(self) -> list[UUID]:
        with self.datastore.transaction(commit=False) as curs:
            curs.execute(self._q("SELECT id FROM {schema}.devices WHERE is_online"))
            return [row["id"] for row in curs.fetchall()]

    def list_by_presence(self, *, client_id: UUID | None, is_online: bool | None,
                         offset: int, limit: int) -> Page:
        filters = {"client_id": client_id, "is_online": is_online}
        clauses = [f"{name} = %({name})s" for name, value in filters.items()
                   if value is not None]
        where = ("WHERE " + " AND ".join(clauses)) if clauses else ""
        count, rows = self._page(f"FROM {{schema}}.devices {where}", "client_id, name, id",
                                 filters, offset, limit)
        return Page(count, rows)

    def count_devices(self, client_id: UUID | None = None) -> tuple[int, int]:
        where = "" if client_id is None else "WHERE client_id = %(c)s"
        row = self._one("SELECT count(*) AS total, count(*) FILTER (WHERE is_online) AS online"
                        f" FROM {{schema}}.devices {where}", {"c": client_id})
        return (int(row["total"]), int(row["online"])) if row else (0, 0)

    # -- pairing codes (housekeeping) --------------------------------------------------

    def put_pairing_code(self, row: Row, tracking: Tracking) -> None:
        self._insert("devices_pairing_codes", row, tracking)

    def pairing_code_used(self, pairing_id: UUID, device_id: UUID,
                          tracking: Tracking) -> None:
        self._update("devices_pairing_codes", pairing_id, {"used_by": device_id}, tracking)

    def remove_pairing_code(self, pairing_id: UUID, tracking: Tracking) -> None:
        self._statement("DELETE FROM {schema}.devices_pairing_codes WHERE id = %(id)s",
                        {"id": pairing_id}, tracking)

    def unused_pairing_codes_expired(self, now: Any, limit: int) -> list[UUID]:
        with self.datastore.transaction(commit=False) as curs:
            curs.execute(self._q("SELECT id FROM {schema}.devices_pairing_codes"
                                 " WHERE used_by IS NULL AND expires_at <= %(now)s"
                                 " ORDER BY expires_at LIMIT %(limit)s"),
                         {"now": now, "limit": limit})
            return [row["id"] for row in curs.fetchall()]
