"""The database half of a backup: a dump of one snapshot, restored in one transaction.

`snapshot()` opens a REPEATABLE READ transaction and exports its snapshot; pg_dump
dumps exactly that snapshot (`--snapshot`) while the system keeps writing, and the
last notification id of each events table is read in it too. `restore_dump()`
feeds the dump to psql in one transaction (ON_ERROR_STOP) that begins by checking
the database is still empty and ends by checking that every events table ends
where the manifest says: a dump cut short or from another backup commits nothing.
"""

from __future__ import annotations

import contextlib
import gzip
import os
import subprocess
import tempfile
import zlib
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any, NamedTuple

import psycopg
from psycopg import IsolationLevel, sql

from infra.backup_tools import CHUNK, BackupError, Progress, first_error, libpq_target

# gzip's level: 3 compresses an event store's dump 3x faster than the default 6,
# into 11 % more bytes (a dump of 113 MB: 2.1 s, 16.0 MB; at 6, 5.9 s, 14.4 MB).
LEVEL = 3
# Tables of the database's own (not the catalogue's, not an extension's).
TABLES = """SELECT n.nspname, c.relname FROM pg_catalog.pg_class c
  JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
  WHERE c.relkind IN ('r', 'p') AND n.nspname <> 'information_schema'
    AND n.nspname NOT LIKE 'pg\\_%' AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend d
      WHERE d.classid = 'pg_catalog.pg_class'::regclass AND d.objid = c.oid
        AND d.deptype = 'e') ORDER BY 1, 2"""
# eventsourcing's events tables: `<application>_events`, with these columns.
EVENT_TABLES = """SELECT table_schema, table_name FROM information_schema.columns
  WHERE table_name LIKE '%\\_events' AND column_name IN ('notification_id',
    'originator_id', 'originator_version', 'topic', 'state')
  GROUP BY 1, 2 HAVING count(*) = 5 ORDER BY 1, 2"""


class Snapshot(NamedTuple):
    id: str
    taken_at: datetime
    server_version: str
    server_major: int
    events: dict[str, int]  # application: its last notification id


@contextlib.contextmanager
def snapshot(database_url: str) -> Iterator[Snapshot]:
    """A snapshot exported for pg_dump, held until the block ends."""
    with connect(database_url) as conn:
        conn.isolation_level, conn.read_only = IsolationLevel.REPEATABLE_READ, True
        conn.execute("SET idle_in_transaction_session_timeout = 0")  # idle during the dump
        row = conn.execute("SELECT pg_export_snapshot(), current_setting('server_version'), "
                           "current_setting('server_version_num')::int / 10000").fetchone()
        assert row is not None
        events = {application(schema, table): last_id(conn, schema, table)
                  for schema, table in conn.execute(EVENT_TABLES).fetchall()}
        yield Snapshot(str(row[0]), datetime.now(UTC), str(row[1]), int(row[2]), events)
        conn.rollback()


def dump(pg_dump: Path, database_url: str, snapshot_id: str, out: Path,
         progress: Progress) -> None:
    """pg_dump's plain SQL of the snapshot, gzip-compressed into `out`."""
    conninfo, env = libpq_target(database_url)
    args = [str(pg_dump), "--format=plain", "--no-owner", "--no-privileges",
            f"--snapshot={snapshot_id}", "--lock-wait-timeout=60s", f"--dbname={conninfo}"]
    done = 0
    with tempfile.TemporaryFile() as errors, open(out, "wb") as raw:
        proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=errors, env=env)
        assert proc.stdout is not None
        try:
            with gzip.GzipFile("database.sql", "wb", LEVEL, raw, mtime=0) as sink:
                while chunk := proc.stdout.read(CHUNK):
                    sink.write(chunk)
                    done += len(chunk)
                    progress("database", done, None)
        except BaseException:
            proc.kill()
            raise
        finally:
            proc.stdout.close()
            code = proc.wait()
        if code != 0:
            raise BackupError(f"pg_dump failed: {first_error(errors)}")
        raw.flush()
        os.fsync(raw.fileno())
    progress("database", done, done)


def uses_restrict(dump_file: Path) -> bool:
    """Whether the dump begins with `\\restrict` (newer pg_dumps write it; older psqls
    stop at it). A damaged dump says no here, and fails when restored."""
    try:
        with gzip.open(dump_file, "rb") as text:
            head = text.read(64 * 1024)
    except (OSError, EOFError, zlib.error):
        return False
    return any(line.startswith(b"\\restrict ") for line in head.splitlines())


def refuse_a_database_in_use(database_url: str) -> None:
    """BackupError unless the database has no tables (events named first)."""
    with connect(database_url) as conn:
        tables = [f"{s}.{t}" for s, t in conn.execute(TABLES).fetchall()]
        holding = [f"{s}.{t}" for s, t in conn.execute(EVENT_TABLES).fetchall()
                   if last_id(conn, s, t)]
        name = conn.info.dbname
    if holding:
        raise BackupError(f"database {name} already holds events (in {', '.join(holding)}): "
                          "restore only into a new, empty database")
    if tables:
        more = f" and {len(tables) - 3} more" if len(tables) > 3 else ""
        raise BackupError(f"database {name} is not empty (tables {', '.join(tables[:3])}"
                          f"{more}): restore only into a new, empty database")


def restore_dump(psql: Path, database_url: str, dump_file: Path, events: dict[str, int],
                 progress: Progress) -> None:
    """Run the dump in one transaction, between the two checks."""
    conninfo, env = libpq_target(database_url)
    args = [str(psql), "--no-psqlrc", "--quiet", "--set=ON_ERROR_STOP=1",
            "--single-transaction", f"--dbname={conninfo}", "--file=-"]
    total = dump_file.stat().st_size
    with tempfile.TemporaryFile() as errors, open(dump_file, "rb") as raw:
        proc = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                                stderr=errors, env=env)
        assert proc.stdin is not None
        try:
            _feed(proc.stdin, raw, events, lambda: progress("database", raw.tell(), total))
            stopped = False
        except BrokenPipeError:
            stopped = True  # psql stopped at an error: its message follows
            with contextlib.suppress(OSError):
                proc.stdin.close()
        except BaseException as exc:
            proc.kill()  # before psql reads the end of its input: nothing is committed
            proc.wait()
            if isinstance(exc, OSError | EOFError | zlib.error):  # a damaged dump
                raise BackupError(f"{dump_file} cannot be read: {exc}") from None
            raise
        if proc.wait() != 0 or stopped:
            raise BackupError(f"psql could not restore {dump_file.name}: "
                              f"{first_error(errors)}")
    progress("database", total, total)


def _feed(stdin: IO[bytes], raw: IO[bytes], events: dict[str, int],
          advance: Callable[[], None]) -> None:
    stdin.write(f"DO $s2g$ BEGIN IF EXISTS ({TABLES}) THEN RAISE EXCEPTION "
                "'sync2gear restore: the database is not empty'; END IF; END $s2g$;\n".encode())
    with gzip.GzipFile(fileobj=raw, mode="rb") as text:
        while chunk := text.read(CHUNK):
            stdin.write(chunk)
            advance()
    stdin.write(_events_check(events).encode())
    stdin.close()  # psql commits at the end of its input


def _events_check(events: dict[str, int]) -> str:
    if not events:
        return ""
    checks = [sql.SQL("SELECT coalesce(max(notification_id), 0) INTO last FROM {}.{}; "
                      "IF last <> {} THEN RAISE EXCEPTION 'sync2gear restore: % ends at "
                      "event %, the manifest says %', {}, last, {}; END IF;").format(
        *map(sql.Identifier, events_table(name)), sql.Literal(last), sql.Literal(name),
        sql.Literal(last)).as_string(None) for name, last in sorted(events.items())]
    return f"DO $s2g$ DECLARE last bigint; BEGIN {' '.join(checks)} END $s2g$;\n"


def connect(database_url: str) -> psycopg.Connection[Any]:
    try:
        return psycopg.connect(database_url, connect_timeout=10)
    except psycopg.OperationalError as exc:
        raise BackupError(f"cannot connect to PostgreSQL: {' '.join(str(exc).split())}"
                          ) from None


def application(schema: str, table: str) -> str:
    """The manifest's name of an events table: "accounts" for public.accounts_events."""
    name = table.removesuffix("_events")
    return name if schema == "public" else f"{schema}.{name}"


def events_table(application: str) -> tuple[str, str]:
    schema, _, name = application.rpartition(".")
    return schema or "public", f"{name}_events"


def last_id(conn: psycopg.Connection[Any], schema: str, table: str) -> int:
    row = conn.execute(sql.SQL("SELECT coalesce(max(notification_id), 0) FROM {}.{}").format(
        sql.Identifier(schema), sql.Identifier(table))).fetchone()
    return int(row[0]) if row else 0
