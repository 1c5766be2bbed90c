"""PostgreSQL implementation of the users and clients read model."""

from __future__ import annotations

import re
from datetime import date
from typing import Any
from uuid import UUID

from eventsourcing.persistence import Tracking
from psycopg import sql

from infra.postgres.view import PostgresView, Row
from projections.accounts import AccountsView, ClientFilter, Page, UserFilter


class PostgresAccountsView(PostgresView, AccountsView):
    # 2: users' avatars (an old release's runner would skip the avatar events); in the
    # same release, plans: limits are overrides (NULL: the tier's), the client's
    # timezone and the date its subscription lapsed
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
            max_devices integer,
            max_storage_gb integer,
            max_zones integer,
            max_schedules integer,
            timezone text NOT NULL DEFAULT 'UTC',
            lapsed_on date,
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
        # Sessions not ended, oldest refresh first: what housekeeping expires.
        """CREATE TABLE IF NOT EXISTS {schema}.accounts_sessions (
            id uuid PRIMARY KEY, user_id uuid NOT NULL, refreshed_at timestamptz NOT NULL)""",
        "CREATE INDEX IF NOT EXISTS accounts_sessions_refreshed_idx"
        " ON {schema}.accounts_sessions (refreshed_at)",
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

    def clients_to_review(self, today: date) -> list[UUID]:
        """Clients whose subscription may have lapsed, or been renewed, by `today`
        (UTC; a client's local date is at most a day either side)."""
        with self.datastore.transaction(commit=False) as curs:
            curs.execute(self._q(
                "SELECT id FROM {schema}.accounts_clients WHERE"
                " (lapsed_on IS NULL AND subscription_end <= %(today)s)"
                " OR (lapsed_on IS NOT NULL AND (subscription_end IS NULL"
                "     OR subscription_end >= %(today)s - 1))"), {"today": today})
            return [r["id"] for r in curs.fetchall()]

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

    def avatar_keys(self) -> set[str]:
        """Every storage key of a user's avatar or its thumbnail."""
        rows = self._all("SELECT unnest(ARRAY[avatar_key, avatar_thumbnail_key]) AS k"
                         " FROM {schema}.accounts_users")
        return {row["k"] for row in rows if row["k"]}

    # -- sessions (housekeeping) -------------------------------------------------------

    def put_session(self, row: Row, tracking: Tracking) -> None:
        self._insert("accounts_sessions", row, tracking)

    def refresh_session(self, session_id: UUID, refreshed_at: Any,
                        tracking: Tracking) -> None:
        self._update("accounts_sessions", session_id, {"refreshed_at": refreshed_at}, tracking)

    def end_session(self, session_id: UUID, tracking: Tracking) -> None:
        self._statement("DELETE FROM {schema}.accounts_sessions WHERE id = %(id)s",
                        {"id": session_id}, tracking)

    def sessions_refreshed_before(self, cutoff: Any, limit: int) -> list[UUID]:
        with self.datastore.transaction(commit=False) as curs:
            curs.execute(self._q("SELECT id FROM {schema}.accounts_sessions"
                                 " WHERE refreshed_at < %(cutoff)s ORDER BY refreshed_at"
                                 " LIMIT %(limit)s"), {"cutoff": cutoff, "limit": limit})
            return [row["id"] for row in curs.fetchall()]

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
