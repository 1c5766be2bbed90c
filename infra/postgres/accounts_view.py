"""PostgreSQL implementation of the users and clients read model."""

from __future__ import annotations

import re
from typing import Any
from uuid import UUID

from eventsourcing.persistence import Tracking
from psycopg import sql

from infra.postgres.view import PostgresView, Row
from projections.accounts import AccountsView, ClientFilter, Page, UserFilter


class PostgresAccountsView(PostgresView, AccountsView):
    # 2: users' avatars (an old release's runner would skip the avatar events)
    schema_version = 2
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
            avatar_key text,
            avatar_thumbnail_key text,
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

    # -- the admin panel ---------------------------------------------------------------

    def search_clients(self, *, filters: ClientFilter, offset: int, limit: int) -> Page:
        where, params = _where(
            {"id": filters.client_id, "subscription_tier": filters.tier,
             "subscription_status": filters.status, "is_active": filters.is_active},
            filters.search,
        )
        count, rows = self._page(f"FROM {{schema}}.accounts_clients {where}",
                                 "created_at DESC, id", params, offset, limit)
        return Page(count, rows)

    def search_users(self, *, filters: UserFilter, offset: int, limit: int) -> Page:
        where, params = _where(
            {"client_id": filters.client_id, "role": filters.role,
             "is_active": filters.is_active},
            filters.search,
        )
        count, rows = self._page(f"FROM {{schema}}.accounts_users {where}",
                                 "created_at DESC, id", params, offset, limit)
        return Page(count, rows)

    def client_counts(self) -> list[Row]:
        return self._all(
            "SELECT subscription_tier, subscription_status, is_active, count(*) AS n"
            " FROM {schema}.accounts_clients"
            " GROUP BY subscription_tier, subscription_status, is_active"
        )

    def user_counts(self) -> list[Row]:
        return self._all("SELECT role, is_active, count(*) AS n FROM {schema}.accounts_users"
                         " GROUP BY role, is_active")

    def count_stored_events(self, tables: dict[str, str]) -> dict[str, int]:
        counts: dict[str, int] = {}
        with self.datastore.transaction(commit=False) as curs:
            for app, table in tables.items():
                if not _IDENTIFIER.fullmatch(table):
                    raise ValueError(f"not an events table name: {table!r}")
                curs.execute(sql.SQL("SELECT count(*) AS n FROM {}").format(self._table(table)))
                row = curs.fetchone()
                counts[app] = int(row["n"]) if row else 0
        return counts

    def _all(self, query: str) -> list[Row]:
        with self.datastore.transaction(commit=False) as curs:
            curs.execute(self._q(query))
            return [dict(r) for r in curs.fetchall()]


_IDENTIFIER = re.compile(r"[a-z_][a-z0-9_]{0,62}")


def _where(equal: dict[str, Any], search: str | None) -> tuple[str, Row]:
    """A WHERE clause: each non-None column equal to its value, and the search text
    (LIKE wildcards escaped) within the name or the email."""
    clauses = [f"{column} = %({column})s" for column, value in equal.items()
               if value is not None]
    params: Row = {k: v for k, v in equal.items() if v is not None}
    if search:
        clauses.append("(name ILIKE %(__search)s OR email ILIKE %(__search)s)")
        escaped = search.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        params["__search"] = f"%{escaped}%"
    return ("WHERE " + " AND ".join(clauses)) if clauses else "", params
