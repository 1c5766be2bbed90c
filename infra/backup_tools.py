"""What both halves of a backup (infra/backup_database.py, infra/backup_media.py) use:
the error, the progress callback, PostgreSQL's client programs, files copied with
their hash.

pg_dump and psql are taken from PG_BIN_DIR when it is set; else from the
`pgserver` package (PostgreSQL 16.2, installed with sync2gear), else from PATH:
the first whose version will do. pg_dump refuses a server newer than itself; the
pg_dumps of August 2025 on begin a plain dump with `\\restrict`, at which older
psqls stop. A database URL's password reaches a program in PGPASSWORD, never on
its command line (where `ps` shows it).
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import re
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

from psycopg.conninfo import conninfo_to_dict, make_conninfo

CHUNK = 1024 * 1024
Progress = Callable[[str, int, int | None], None]  # stage, bytes done, bytes in all
Version = tuple[int, int]


class BackupError(Exception):
    """A backup or restore refused or failed; the message says why in one line."""


def find_program(name: str, bin_dir: Path | None = None, *,
                 accepts: Callable[[Version], bool] = lambda _: True, needed: str = "") -> Path:
    """`name` from `bin_dir` (PG_BIN_DIR), else pgserver's, else PATH's: the first
    whose version `accepts` (`needed` says which in the error)."""
    if bin_dir:
        candidates: list[Path | None] = [bin_dir / name]
    else:
        packaged, on_path = _pgserver_bin(), shutil.which(name)
        candidates = [packaged / name if packaged else None, Path(on_path) if on_path else None]
    found = []
    for path in (p for p in candidates if p is not None and p.is_file()):
        release = version(path)
        if accepts(release):
            return path
        found.append(f"{path} ({'.'.join(map(str, release))})")
    if not found:
        where = str(bin_dir) if bin_dir else "the pgserver package or on PATH"
        raise BackupError(f"{name} not found in {where}: install the PostgreSQL client "
                          "programs or set PG_BIN_DIR to their folder")
    raise BackupError(f"{name} is too old: found {', '.join(found)}, {needed}; set PG_BIN_DIR "
                      "to the bin folder of such a PostgreSQL")


def version(program: Path) -> Version:
    """(16, 2) for "psql (PostgreSQL) 16.2", (9, 6) for "pg_dump (PostgreSQL) 9.6.24"."""
    try:
        out = subprocess.run([str(program), "--version"], capture_output=True, text=True,
                             timeout=30, check=True).stdout
    except (OSError, subprocess.SubprocessError) as exc:
        raise BackupError(f"{program} --version failed: {exc}") from None
    match = re.search(r"\(PostgreSQL\)\s+(\d+)(?:\.(\d+))?", out)
    if match is None:
        raise BackupError(f"{program} --version printed no version: {out.strip()!r}")
    return int(match.group(1)), int(match.group(2) or 0)


def knows_restrict(release: Version) -> bool:
    """Whether psql of this release reads `\\restrict`, which pg_dump writes into plain
    dumps since the releases of August 2025 (13.22, 14.19, 15.14, 16.10, 17.6, 18)."""
    first = {13: 22, 14: 19, 15: 14, 16: 10, 17: 6}
    major, minor = release
    return major >= 18 or minor >= first.get(major, 10**6)


def libpq_target(database_url: str) -> tuple[str, dict[str, str]]:
    """The connection string without its password, and an environment holding it."""
    info: dict[str, Any] = conninfo_to_dict(database_url)
    password = info.pop("password", None)
    env = {**os.environ, **({"PGPASSWORD": str(password)} if password else {})}
    return make_conninfo(**{k: str(v) for k, v in info.items() if v is not None}), env


def first_error(errors: IO[bytes]) -> str:
    """The line of a program's stderr saying what went wrong: its first error, else
    its last line."""
    errors.seek(0)
    lines = [line.strip() for line in errors.read().decode(errors="replace").splitlines()
             if line.strip()]
    for line in lines:
        if "ERROR:" in line or "error:" in line:
            return line
    return lines[-1] if lines else "no message"


def copy_file(source: Path, target: Path, advance: Callable[[int], None]) -> str:
    """Copy `source` to `target`, synced to disk; the sha256 (hex) of what was copied."""
    digest = hashlib.sha256()
    with open(source, "rb") as reader:
        target.parent.mkdir(parents=True, exist_ok=True)
        with open(target, "wb") as writer:
            while chunk := reader.read(CHUNK):
                digest.update(chunk)
                writer.write(chunk)
                advance(len(chunk))
            writer.flush()
            os.fsync(writer.fileno())
    return digest.hexdigest()


def write_synced(path: Path, data: bytes) -> None:
    """`path` appears whole, and on disk, or not at all."""
    partial = path.with_name(f".{path.name}.partial")
    with open(partial, "wb") as out:
        out.write(data)
        out.flush()
        os.fsync(out.fileno())
    os.replace(partial, path)


def _pgserver_bin() -> Path | None:
    spec = importlib.util.find_spec("pgserver")
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"
