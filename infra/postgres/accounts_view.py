"""PostgreSQL implementation of the users and clients read model."""

from __future__ import annotations

from uuid import UUID

from eventsourcing.persistence import Tracking

from infra.postgres.view import PostgresView, Row
from projections.accounts import AccountsView, Page


class PostgresAccountsView(PostgresView, AccountsView):
    ddl = (
        """CREATE TABLE IF NOT EXISTS {schema}.accounts_clients (
            id uuid PRIMARY KEY,
            name text NOT NULL,
            email text NOT NULL,
            phone text NOT NULL DEFAULT '',
            subscription_tier text NOT NULL,
            subscription_status text NOT NULL,
            subscription_start date,
            subscription_end date,
            max_devices integer NOT NULL,
            max_storage_gb integer NOT NULL,
            is_active boolean NOT NULL,
            created_at timestamptz NOT NULL,
            updated_at timestamptz NOT NULL)""",
        """CREATE TABLE IF NOT EXISTS {schema}.accounts_users (
            id uuid PRIMARY KEY,
            email text NOT NULL,
            name text NOT NULL,
            client_id uuid,
            role text NOT NULL,
            phone text NOT NULL DEFAULT '',
            timezone text NOT NULL,
            is_active boolean NOT NULL,
            last_login timestamptz,
            created_at timestamptz NOT NULL,
            updated_at timestamptz NOT NULL)""",
        "CREATE INDEX IF NOT EXISTS accounts_users_client_idx"
        " ON {schema}.accounts_users (client_id, created_at DESC)",
    )

    def insert_client(self, row: Row, tracking: Tracking) -> None:
        self._insert("accounts_clients", row, tracking)

    def update_client(self, client_id: UUID, changes: Row, tracking: Tracking) -> None:
        self._update("accounts_clients", client_id, changes, tracking)

    def insert_user(self, row: Row, tracking: Tracking) -> None:
        self._insert("accounts_users", row, tracking)

    def update_user(self, user_id: UUID, changes: Row, tracking: Tracking) -> None:
        self._update("accounts_users", user_id, changes, tracking)

    def get_client(self, client_id: UUID) -> Row | None:
        return self._one("SELECT * FROM {schema}.accounts_clients WHERE id = %(id)s",
                         {"id": client_id})

    def get_user(self, user_id: UUID) -> Row | None:
        return self._one("SELECT * FROM {schema}.accounts_users WHERE id = %(id)s",
                         {"id": user_id})

    def list_users(self, *, client_id: UUID | None, offset: int, limit: int) -> Page:
        where = "" if client_id is None else "WHERE client_id = %(client_id)s"
        count, rows = self._page(
            f"FROM {{schema}}.accounts_users {where}", "created_at DESC, id",
            {"client_id": client_id}, offset, limit,
        )
        return Page(count, rows)

    def list_clients(self, *, offset: int, limit: int) -> Page:
        count, rows = self._page(
            "FROM {schema}.accounts_clients", "created_at DESC, id", {}, offset, limit
        )
        return Page(count, rows)
