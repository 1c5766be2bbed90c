"""PostgreSQL implementation of the library read model (full-text search on tracks)."""

from __future__ import annotations

from collections.abc import Collection
from uuid import UUID

from eventsourcing.persistence import Tracking

from domain.sound import Loudness
from infra.postgres.view import PostgresView, Row
from projections.accounts import Page
from projections.library import LibraryView

TABLES = frozenset({"library_folders", "library_tracks", "library_announcements",
                    "library_storage"})
ITEM_TABLES = ("library_tracks", "library_announcements")


class PostgresLibraryView(PostgresView, LibraryView):
    # 2: folders' created_by is the creating user's id (null: not a user), is_system;
    #    tracks' and announcements' measured loudness, true peak and waveform
    schema_version = 2
    ddl = (
        """CREATE TABLE IF NOT EXISTS {schema}.library_folders (
            id uuid PRIMARY KEY, client_id uuid NOT NULL, type text NOT NULL,
            name text NOT NULL, description text NOT NULL DEFAULT '',
            cover_key text, thumbnail_key text, item_count integer NOT NULL DEFAULT 0,
            is_system boolean NOT NULL, created_by uuid, created_at timestamptz NOT NULL,
            updated_at timestamptz NOT NULL)""",
        "CREATE INDEX IF NOT EXISTS library_folders_client_idx"
        " ON {schema}.library_folders (client_id, name)",
        """CREATE TABLE IF NOT EXISTS {schema}.library_tracks (
            id uuid PRIMARY KEY, client_id uuid NOT NULL, folder_id uuid, position integer,
            filename text NOT NULL, file_size bigint NOT NULL, content_hash text NOT NULL,
            media_key text NOT NULL, content_type text NOT NULL, format text NOT NULL,
            duration double precision NOT NULL, title text NOT NULL,
            artist text NOT NULL DEFAULT '', album text NOT NULL DEFAULT '',
            genre text NOT NULL DEFAULT '', year integer, cover_key text, thumbnail_key text,
            status text NOT NULL, failure_reason text, uploaded_by text,
            loudness_lufs double precision, true_peak_dbtp double precision, waveform_key text,
            created_at timestamptz NOT NULL, updated_at timestamptz NOT NULL,
            search tsvector GENERATED ALWAYS AS (
                to_tsvector('simple', title || ' ' || artist || ' ' || album)) STORED)""",
        "CREATE INDEX IF NOT EXISTS library_tracks_client_idx"
        " ON {schema}.library_tracks (client_id, created_at DESC)",
        "CREATE INDEX IF NOT EXISTS library_tracks_folder_idx"
        " ON {schema}.library_tracks (folder_id, position)",
        "CREATE INDEX IF NOT EXISTS library_tracks_search_idx"
        " ON {schema}.library_tracks USING gin (search)",
        """CREATE TABLE IF NOT EXISTS {schema}.library_announcements (
            id uuid PRIMARY KEY, client_id uuid NOT NULL, folder_id uuid, position integer,
            title text NOT NULL, source text NOT NULL, media_key text, content_type text,
            format text, duration double precision, file_size bigint,
            tts_text text NOT NULL DEFAULT '', tts_voice text NOT NULL DEFAULT '',
            tts_language text NOT NULL DEFAULT '', status text NOT NULL, failure_reason text,
            loudness_lufs double precision, true_peak_dbtp double precision, waveform_key text,
            created_by text, created_at timestamptz NOT NULL, updated_at timestamptz NOT NULL)""",
        "CREATE INDEX IF NOT EXISTS library_announcements_client_idx"
        " ON {schema}.library_announcements (client_id, created_at DESC)",
        """CREATE TABLE IF NOT EXISTS {schema}.library_storage (
            id uuid PRIMARY KEY, client_id uuid NOT NULL UNIQUE,
            used_bytes bigint NOT NULL DEFAULT 0)""",
    )

    def media_keys(self) -> set[str]:
        """Every storage key a folder, track or announcement of the view refers to."""
        with self.datastore.transaction(commit=False) as curs:
            curs.execute(self._q(
                "SELECT unnest(ARRAY[media_key, cover_key, thumbnail_key, waveform_key]) AS k"
                " FROM {schema}.library_tracks"
                " UNION SELECT unnest(ARRAY[media_key, waveform_key])"
                " FROM {schema}.library_announcements"
                " UNION SELECT unnest(ARRAY[cover_key, thumbnail_key])"
                " FROM {schema}.library_folders"))
            return {row["k"] for row in curs.fetchall() if row["k"]}

    def put(self, table: str, row: Row, tracking: Tracking) -> None:
        self._insert(_checked(table), row, tracking)

    def change(self, table: str, row_id: UUID, changes: Row, tracking: Tracking) -> None:
        self._update(_checked(table), row_id, changes, tracking)

    def remove(self, table: str, row_id: UUID, tracking: Tracking) -> None:
        self._statement(f"DELETE FROM {{schema}}.{_checked(table)} WHERE id = %(id)s",
                    {"id": row_id}, tracking)

    def add_item(self, folder_id: UUID, item_id: UUID, tracking: Tracking) -> None:
        statements = [
            f"""UPDATE {{schema}}.{t} SET folder_id = %(f)s, position = (
                  SELECT coalesce(max(position) + 1, 0) FROM {{schema}}.{t}
                  WHERE folder_id = %(f)s) WHERE id = %(i)s"""
            for t in ITEM_TABLES
        ]
        self._write_counted(statements, {"f": folder_id, "i": item_id}, tracking)

    def remove_item(self, folder_id: UUID, item_id: UUID, tracking: Tracking) -> None:
        statements = [
            f"UPDATE {{schema}}.{t} SET position = NULL, folder_id = NULL"
            " WHERE id = %(i)s AND folder_id = %(f)s"
            for t in ITEM_TABLES
        ]
        self._write_counted(statements, {"f": folder_id, "i": item_id}, tracking)

    def set_order(self, folder_id: UUID, items: list[UUID], tracking: Tracking) -> None:
        statements = [
            f"""UPDATE {{schema}}.{t} AS x SET position = o.n - 1
                FROM unnest(%(items)s::uuid[]) WITH ORDINALITY AS o(id, n)
                WHERE x.id = o.id AND x.folder_id = %(f)s"""
            for t in ITEM_TABLES
        ]
        self._write_many(statements, {"f": folder_id, "items": items}, tracking)

    def delete_folder(self, folder_id: UUID, tracking: Tracking) -> None:
        statements = [
            *(f"UPDATE {{schema}}.{t} SET folder_id = NULL, position = NULL"
              " WHERE folder_id = %(f)s" for t in ITEM_TABLES),
            "DELETE FROM {schema}.library_folders WHERE id = %(f)s",
        ]
        self._write_many(statements, {"f": folder_id}, tracking)

    def add_usage(self, quota_id: UUID, delta: int, tracking: Tracking) -> None:
        """In a batch, a quota's changes add up into one update (nothing reads it meanwhile)."""
        params = {"id": quota_id, "d": delta}
        if self._batch is None:
            self._statement(_ADD_USAGE, params, tracking)
        else:
            self._batch.add(self._q(_ADD_USAGE), params, key=("usage", quota_id),
                            merge=lambda a, b: {**b, "d": a["d"] + b["d"]})

    def _write_counted(self, statements: list[str], params: Row, tracking: Tracking) -> None:
        """`statements`, then the folder `params["f"]` recounted; in a batch only the
        folder's last recount runs (each overwrites the one before, and nothing reads
        the count meanwhile)."""
        if self._batch is None:
            self._write_many([*statements, _RECOUNT], params, tracking)
            return
        self._write_many(statements, params, tracking)
        self._batch.add(self._q(_RECOUNT), {"f": params["f"]}, key=("recount", params["f"]))

    # -- queries ---------------------------------------------------------------

    def get(self, table: str, row_id: UUID) -> Row | None:
        return self._one(f"SELECT * FROM {{schema}}.{_checked(table)} WHERE id = %(id)s",
                         {"id": row_id})

    def list_folders(self, *, client_id: UUID | None, type: str | None,  # noqa: A002
                     offset: int, limit: int) -> Page:
        where = _where(client_id=client_id, type=type)
        count, rows = self._page(f"FROM {{schema}}.library_folders {where}", "name, id",
                                 {"client_id": client_id, "type": type}, offset, limit)
        return Page(count, rows)

    def list_tracks(self, *, client_id: UUID | None, folder_id: UUID | None, offset: int,
                    limit: int) -> Page:
        where = _where(client_id=client_id, folder_id=folder_id)
        order = "position NULLS LAST, title, id" if folder_id else "created_at DESC, id"
        count, rows = self._page(f"FROM {{schema}}.library_tracks {where}", order,
                                 {"client_id": client_id, "folder_id": folder_id},
                                 offset, limit)
        return Page(count, [_public(r) for r in rows])

    def search_tracks(self, *, client_id: UUID | None, query: str, offset: int,
                      limit: int) -> Page:
        """Every word must match the start of a word in title, artist or album."""
        words = [w for w in (_clean(w) for w in query.split()) if w]
        if not words:
            return Page(0, [])
        tsquery = " & ".join(f"{w}:*" for w in words)
        where = _where(client_id=client_id)
        where += (" AND " if where else "WHERE ") + "search @@ to_tsquery('simple', %(q)s)"
        count, rows = self._page(
            f"FROM {{schema}}.library_tracks {where}",
            "ts_rank(search, to_tsquery('simple', %(q)s)) DESC, title, id",
            {"client_id": client_id, "q": tsquery}, offset, limit,
        )
        return Page(count, [_public(r) for r in rows])

    def list_announcements(self, *, client_id: UUID | None, folder_id: UUID | None,
                           offset: int, limit: int) -> Page:
        where = _where(client_id=client_id, folder_id=folder_id)
        order = "position NULLS LAST, title, id" if folder_id else "created_at DESC, id"
        count, rows = self._page(f"FROM {{schema}}.library_announcements {where}", order,
                                 {"client_id": client_id, "folder_id": folder_id},
                                 offset, limit)
        return Page(count, rows)

    def loudness_of(self, ids: Collection[UUID]) -> dict[UUID, Loudness]:
        if not ids:
            return {}
        found: dict[UUID, Loudness] = {}
        with self.datastore.transaction(commit=False) as curs:
            curs.execute(self._q(_LOUDNESS), {"ids": list(ids)})
            for r in curs.fetchall():
                lufs = r["loudness_lufs"]
                found[r["id"]] = Loudness(
                    float("-inf") if lufs is None else lufs,
                    float("-inf") if r["true_peak_dbtp"] is None else r["true_peak_dbtp"])
        return found

    def storage_used(self, client_id: UUID) -> int:
        row = self._one("SELECT used_bytes FROM {schema}.library_storage"
                        " WHERE client_id = %(c)s", {"c": client_id})
        return int(row["used_bytes"]) if row else 0

    def storage_by_client(self, client_ids: list[UUID]) -> dict[UUID, int]:
        used = dict.fromkeys(client_ids, 0)
        with self.datastore.transaction(commit=False) as curs:
            curs.execute(self._q("SELECT client_id, used_bytes FROM {schema}.library_storage"
                                 " WHERE client_id = ANY(%(ids)s)"), {"ids": client_ids})
            used.update((r["client_id"], int(r["used_bytes"])) for r in curs.fetchall())
        return used

    def storage_total(self) -> int:
        row = self._one("SELECT coalesce(sum(used_bytes), 0) AS n"
                        " FROM {schema}.library_storage", {})
        return int(row["n"]) if row else 0


_RECOUNT = """UPDATE {schema}.library_folders SET item_count = (
    SELECT count(*) FROM {schema}.library_tracks WHERE folder_id = %(f)s) + (
    SELECT count(*) FROM {schema}.library_announcements WHERE folder_id = %(f)s)
    WHERE id = %(f)s"""
# Measured items only (a waveform is stored with every measurement); both tables by id.
_LOUDNESS = " UNION ALL ".join(
    f"SELECT id, loudness_lufs, true_peak_dbtp FROM {{schema}}.{t}"
    " WHERE id = ANY(%(ids)s) AND waveform_key IS NOT NULL" for t in ITEM_TABLES)
_ADD_USAGE = ("UPDATE {schema}.library_storage SET used_bytes = used_bytes + %(d)s"
              " WHERE id = %(id)s")


def _checked(table: str) -> str:
    if table not in TABLES:
        raise ValueError(f"unknown library table {table}")
    return table


def _where(**filters: object) -> str:
    clauses = [f"{name} = %({name})s" for name, value in filters.items() if value is not None]
    return ("WHERE " + " AND ".join(clauses)) if clauses else ""


def _clean(word: str) -> str:
    """Keep letters and digits only, so user input cannot form tsquery syntax."""
    return "".join(ch for ch in word.lower() if ch.isalnum())


def _public(row: Row) -> Row:
    row.pop("search", None)
    return row

