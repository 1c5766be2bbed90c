"""Tables are created, or migrated, only when they need it.

Every `CREATE … IF NOT EXISTS` still takes its lock: `CREATE INDEX IF NOT EXISTS`
on an events table waits for the writer holding that table's EXCLUSIVE lock, and
every later writer queues behind the DDL. So a recorder's DDL runs only when a
relation it creates is missing or its statements differ from the ones recorded
when they last ran (a release that adds a column or an index); otherwise nothing
but the catalogue is read, and a process starting beside a busy one never queues
behind a writer. Callers hold `schema_lock` (concurrent DDL can collide).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from typing import Any

from eventsourcing.postgres import PostgresRecorder
from psycopg.sql import SQL, Composed, Identifier

SCHEMA_TABLE = "s2g_schema"
_NAME = r'"?([^".\s]+)"?\."?([^".\s(]+)"?'  # schema.name, each quoted or not
_TABLE = re.compile(r"CREATE TABLE IF NOT EXISTS " + _NAME, re.IGNORECASE)
_INDEX = re.compile(r'CREATE (?:UNIQUE )?INDEX IF NOT EXISTS "?(\w+)"?', re.IGNORECASE)
_TYPE = re.compile(r"CREATE TYPE " + _NAME, re.IGNORECASE)
_FUNCTION = re.compile(r"CREATE OR REPLACE FUNCTION " + _NAME, re.IGNORECASE)


def ensure_tables(recorder: PostgresRecorder) -> bool:
    """Run `recorder`'s DDL if it is needed; True if it ran."""
    statements = [s.as_string(None) for s in recorder.sql_create_statements]
    if not statements:
        return False
    digest = hashlib.sha256("\n".join(statements).encode()).hexdigest()
    schema = recorder.datastore.schema
    key = _key(statements, schema)
    if _up_to_date(recorder, statements, key, digest):
        recorder.datastore.register_type_adapters()
        return False
    recorder.create_table()
    with recorder.datastore.transaction(commit=True) as curs:
        curs.execute(SQL("CREATE TABLE IF NOT EXISTS {}.{} (recorder text PRIMARY KEY, "
                         "ddl_digest text NOT NULL)").format(*_schema_table(schema)))
        curs.execute(SQL("INSERT INTO {}.{} VALUES (%s, %s) ON CONFLICT (recorder) DO "
                         "UPDATE SET ddl_digest = excluded.ddl_digest"
                         ).format(*_schema_table(schema)), (key, digest))
    return True


def _up_to_date(recorder: PostgresRecorder, statements: list[str], key: str,
                digest: str) -> bool:
    schema = recorder.datastore.schema
    checks = [*(f"to_regclass({_literal(f'{s}.{t}')}) IS NOT NULL"
                for text in statements for s, t in _quoted(_TABLE, text)),
              *(f"to_regclass({_literal(f'{schema}.{i}')}) IS NOT NULL"
                for text in statements for i in _INDEX.findall(text)),
              *(f"to_regtype({_literal(f'{s}.{t}')}) IS NOT NULL"
                for text in statements for s, t in _quoted(_TYPE, text)),
              *(f"to_regproc({_literal(f'{s}.{f}')}) IS NOT NULL"
                for text in statements for s, f in _quoted(_FUNCTION, text))]
    table = f"{schema}.{SCHEMA_TABLE}"
    with recorder.datastore.transaction(commit=False) as curs:
        row: Any = curs.execute(
            f"SELECT {' AND '.join(checks or ['true'])} AS present, "
            f"to_regclass({_literal(table)}) IS NOT NULL AS recorded").fetchone()
        if not (row["present"] and row["recorded"]):
            return False
        stored: Any = curs.execute(SQL("SELECT ddl_digest FROM {}.{} WHERE recorder = %s")
                                   .format(*_schema_table(schema)), (key,)).fetchone()
    return stored is not None and stored["ddl_digest"] == digest


def drop_tables(schema: str, tables: Iterable[str]) -> Composed:
    """`DROP TABLE IF EXISTS` of `tables` in `schema`, with what depends on them."""
    return SQL("DROP TABLE IF EXISTS {} CASCADE").format(SQL(", ").join(
        SQL("{}.{}").format(Identifier(schema), Identifier(t)) for t in tables))


def _key(statements: list[str], schema: str) -> str:
    """The recorder's first table, schema-qualified: what its digest is filed under."""
    for text in statements:
        for s, t in _quoted(_TABLE, text):
            return f"{s}.{t}"
    return f"{schema}.{hashlib.sha256(statements[0].encode()).hexdigest()[:16]}"


def _quoted(pattern: re.Pattern[str], text: str) -> list[tuple[str, str]]:
    return [(a, b) for a, b in pattern.findall(text)]


def _literal(name: str) -> str:
    """`name` as a SQL string of a quoted identifier path ('"schema"."table"')."""
    quoted = ".".join('"' + part.replace('"', '""') + '"' for part in name.split(".", 1))
    return "'" + quoted.replace("'", "''") + "'"


def _schema_table(schema: str) -> tuple[Identifier, Identifier]:
    return Identifier(schema), Identifier(SCHEMA_TABLE)
