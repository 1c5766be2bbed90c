"""The media half of a backup: the local storage's files, copied with their sha256.

A backup copies every stored file (not an upload still being written). A restore
copies the backup's files into a staging folder inside the media folder, checking
each against the manifest, and moves them into place only once the database is
restored: until then the media folder holds nothing new but the staging folder.
"""

from __future__ import annotations

import logging
import os
import shutil
import uuid
from pathlib import Path

from infra.backup_tools import BackupError, Progress, copy_file
from infra.storage import validate_key

STAGING = ".restore-"
log = logging.getLogger(__name__)


def copy_out(root: Path, target: Path, progress: Progress) -> dict[str, str]:
    """Copy every file under `root` to `target`; their sha256 by storage key."""
    files = stored_files(root)
    hashes, counter = {}, _Counter(progress, sum(_size(path) for path in files.values()))
    for key, path in files.items():
        try:
            hashes[key] = copy_file(path, target.joinpath(*key.split("/")), counter.advance)
        except FileNotFoundError:
            log.warning("media file %s was deleted during the backup: not backed up", key)
    counter.finish()
    return hashes


def stored_files(root: Path) -> dict[str, Path]:
    """Every stored file by key (not uploads being written, nor a restore's staging)."""
    files = {}
    for folder, dirs, names in os.walk(root):
        dirs[:] = sorted(d for d in dirs if not d.startswith(STAGING))
        for name in sorted(names):
            if name.startswith(".upload-") and name.endswith(".tmp"):  # LocalStorage.put
                continue
            key = (Path(folder) / name).relative_to(root).as_posix()
            try:
                validate_key(key)
            except ValueError:
                log.warning("media file %r is no storage key: not backed up", key)
                continue
            files[key] = Path(folder) / name
    return files


def refuse_a_folder_in_use(media_root: Path) -> None:
    """BackupError if any file is under `media_root` (empty folders are fine)."""
    for folder, _, names in os.walk(media_root):
        if names:
            raise BackupError(f"the media folder {media_root} is not empty (it holds "
                              f"{Path(folder, names[0])}): restore only into an empty one")


def stage(source: Path, hashes: dict[str, str], media_root: Path, progress: Progress) -> Path:
    """The backup's files copied into a new staging folder under `media_root`, each
    checked against its hash; BackupError naming the first missing or altered one."""
    paths = {key: source.joinpath(*key.split("/")) for key in sorted(hashes)}
    missing = [key for key, path in paths.items() if not path.is_file()]
    if missing:
        more = f" ({len(missing) - 1} more missing)" if len(missing) > 1 else ""
        raise BackupError(f"media file {missing[0]} is missing from the backup{more}")
    staging = media_root / f"{STAGING}{uuid.uuid4().hex[:12]}"
    staging.mkdir(parents=True)
    counter = _Counter(progress, sum(_size(path) for path in paths.values()))
    try:
        for key, path in paths.items():
            if copy_file(path, staging.joinpath(*key.split("/")), counter.advance) != hashes[key]:
                raise BackupError(f"media file {key} does not match its sha256 in the "
                                  "manifest: the backup is damaged or was altered")
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    counter.finish()
    return staging


def publish(staging: Path, media_root: Path) -> None:
    """Move the staged files into place: renames within one file system (a folder
    already there, empty or holding empty folders, is merged into)."""
    for child in staging.iterdir():
        target = media_root / child.name
        if child.is_dir() and target.is_dir():
            publish(child, target)
        else:
            os.replace(child, target)
    staging.rmdir()


class _Counter:
    def __init__(self, progress: Progress, total: int) -> None:
        self.progress, self.total, self.done = progress, total, 0

    def advance(self, n: int) -> None:
        self.done += n
        self.progress("media", self.done, self.total)

    def finish(self) -> None:
        self.progress("media", self.total, self.total)


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0
