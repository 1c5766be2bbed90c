"""Backups of a whole sync2gear: `sync2gear backup DEST`, `sync2gear restore SRC`.

A backup (format 1) is a folder:

    manifest.json    {"format": 1, "created_at", "release", "server_version",
                      "dump": "database.sql.gz", "events": {application: last
                      notification id}, "media": {storage key: sha256 hex}}
    database.sql.gz  pg_dump --format=plain --no-owner --no-privileges of the whole
                     database (events, snapshots, read models, tracking, s2g_schema)
    media/<key>      every file of the local media storage

    backup(database_url, media_root, dest, *, bin_dir=None, on_progress=None) -> Manifest
    restore(src, database_url, media_root, *, bin_dir=None, on_progress=None) -> Manifest
    read_manifest(src) -> Manifest
    local_media_root(settings) -> Path     # BackupError when media is in S3

`media_root` is the local storage's folder (`Settings.media_root`); `bin_dir`
is PG_BIN_DIR, where pg_dump and psql are looked for first (infra/backup_tools.py);
`on_progress(stage, done, total)` hears the bytes done of "database" and "media"
(total None: not known yet). A refusal or failure raises BackupError, whose
message is one line. Neither needs a Container: `restore` must not create tables.

A backup is consistent while the system runs: pg_dump dumps one exported
snapshot, in which the manifest's event positions are read too
(infra/backup_database.py). Media is copied after the dump: a file is stored
before the event naming it, so every file the dump names is copied, unless a
later event deletes it during the copy; files stored meanwhile are extra and
harmless. The manifest is written last: a folder without one is no backup.
Media in S3 is refused: back the bucket up with S3's own tools. Redis is not
backed up: what it holds is derived from the events (live zone state, the session
cache, rebuilt as they are used) or short-lived (presence, rate limits, queued jobs).

A restore goes into a database without tables and a media folder without files,
else it refuses before changing anything. The media is staged and checked first
(infra/backup_media.py), then the dump runs in one psql transaction, then the
staged files are moved into place: a failure at any step changes nothing.
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import json
import shutil
import tomllib
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from infra import backup_database as database
from infra import backup_media as media
from infra.backup_tools import (
    BackupError,
    Progress,
    find_program,
    knows_restrict,
    write_synced,
)
from infra.settings import Settings
from infra.storage import validate_key

__all__ = ["BackupError", "Manifest", "Progress", "backup", "local_media_root",
           "read_manifest", "release", "restore"]

FORMAT = 1
MANIFEST, DUMP, MEDIA = "manifest.json", "database.sql.gz", "media"


@dataclass(frozen=True)
class Manifest:
    created_at: datetime  # when the snapshot was taken
    release: str
    server_version: str
    events: dict[str, int]  # application ("schema.application" outside public): last id
    media: dict[str, str]  # storage key: sha256 (hex)
    dump: str = DUMP
    format: int = FORMAT

    def to_json(self) -> str:
        return json.dumps({**asdict(self), "created_at": self.created_at.isoformat()},
                          indent=1, sort_keys=True)


def local_media_root(settings: Settings) -> Path:
    """The local media storage's folder; BackupError when media is stored in S3."""
    if settings.storage_backend != "local":
        raise BackupError(f"media is stored in the S3 bucket {settings.s3_bucket}: back the "
                          "bucket up with S3's own tools (versioning, replication, aws s3 "
                          "sync); sync2gear backs up local media only")
    return settings.media_root


def backup(database_url: str, media_root: Path, dest: Path, *, bin_dir: Path | None = None,
           on_progress: Progress | None = None) -> Manifest:
    """Dump the database and copy the media into `dest` (new, or an empty folder)."""
    progress = on_progress or _ignore
    if dest.exists() and (not dest.is_dir() or any(dest.iterdir())):
        raise BackupError(f"{dest} already exists and is not an empty folder")
    if dest.resolve().is_relative_to(media_root.resolve()):
        raise BackupError(f"{dest} is inside the media folder {media_root}: back up elsewhere")
    created = not dest.exists()
    dest.mkdir(parents=True, exist_ok=True)
    try:
        with database.snapshot(database_url) as snapshot:
            pg_dump = find_program(
                "pg_dump", bin_dir, accepts=lambda v: v[0] >= snapshot.server_major,
                needed=f"the server is PostgreSQL {snapshot.server_major}")
            database.dump(pg_dump, database_url, snapshot.id, dest / DUMP, progress)
        hashes = media.copy_out(media_root, dest / MEDIA, progress)
        manifest = Manifest(snapshot.taken_at, release(), snapshot.server_version,
                            snapshot.events, hashes)
        write_synced(dest / MANIFEST, manifest.to_json().encode())
    except BaseException:
        _clear(dest, remove=created)
        raise
    return manifest


def restore(src: Path, database_url: str, media_root: Path, *, bin_dir: Path | None = None,
            on_progress: Progress | None = None) -> Manifest:
    """Restore the backup in `src` into an empty database and an empty media folder."""
    progress = on_progress or _ignore
    manifest = read_manifest(src)
    dump = src / manifest.dump
    if not dump.is_file():
        raise BackupError(f"{dump} is missing")
    psql = _psql(dump, bin_dir)
    database.refuse_a_database_in_use(database_url)
    media.refuse_a_folder_in_use(media_root)
    staging = media.stage(src / MEDIA, manifest.media, media_root, progress)
    try:
        database.restore_dump(psql, database_url, dump, manifest.events, progress)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    try:
        media.publish(staging, media_root)
    except OSError as exc:
        raise BackupError(f"the database is restored, but moving the media files from "
                          f"{staging} into {media_root} failed ({exc}): move them by hand"
                          ) from None
    return manifest


def read_manifest(src: Path) -> Manifest:
    """The manifest of the backup in `src`; BackupError if it is none of format 1."""
    path = src / MANIFEST
    try:
        data: dict[str, Any] = json.loads(path.read_text())
    except FileNotFoundError:
        raise BackupError(f"{src} has no {MANIFEST}: not a backup, or an unfinished one"
                          ) from None
    except (OSError, ValueError) as exc:
        raise BackupError(f"{path} cannot be read: {exc}") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        found = data.get("format") if isinstance(data, dict) else None
        raise BackupError(f"{src} is a backup of unknown format {found!r} (this release "
                          f"reads format {FORMAT})")
    try:
        manifest = Manifest(
            datetime.fromisoformat(data["created_at"]), str(data["release"]),
            str(data["server_version"]), {str(k): int(v) for k, v in data["events"].items()},
            {str(k): str(v) for k, v in data["media"].items()}, str(data["dump"]))
        for key in [manifest.dump, *manifest.media]:
            validate_key(key)  # nothing is read or written outside the two folders
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise BackupError(f"{path} is damaged: {exc!r}") from None
    return manifest


def release() -> str:
    """This sync2gear's version: the installed package's, else pyproject.toml's."""
    with contextlib.suppress(importlib.metadata.PackageNotFoundError):
        return importlib.metadata.version("sync2gear")
    with contextlib.suppress(OSError, KeyError, tomllib.TOMLDecodeError):
        pyproject = Path(__file__).resolve().parents[1] / "pyproject.toml"
        return str(tomllib.loads(pyproject.read_text())["project"]["version"])
    return "unknown"


def _psql(dump: Path, bin_dir: Path | None) -> Path:
    if not database.uses_restrict(dump):
        return find_program("psql", bin_dir)
    return find_program("psql", bin_dir, accepts=knows_restrict, needed="the dump begins with "
                        "\\restrict, which psql reads since 13.22, 14.19, 15.14, 16.10, 17.6, 18")


def _clear(folder: Path, *, remove: bool) -> None:
    """Take back what a failed backup wrote into `folder` (which was empty)."""
    for child in folder.iterdir():
        if child.is_dir() and not child.is_symlink():
            shutil.rmtree(child)
        else:
            child.unlink()
    if remove:
        folder.rmdir()


def _ignore(stage: str, done: int, total: int | None) -> None:
    pass
