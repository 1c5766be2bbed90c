"""Resumable (tus) uploads: the bytes of unfinished uploads, waiting on disk.

An upload is a folder named by its id: `info.json` (whose, of which kind, how
long, the metadata sent at creation) and `data`, the bytes received so far,
whose size is the upload's offset. A finished upload is handed, as a file, to
the same upload command as a plain upload. An upload left alone longer than
the time to live (counted from its last byte) is removed by `sweep`.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, cast
from uuid import UUID

from domain.base import NotFound
from domain.library import LibraryError

KINDS = frozenset({"music", "announcement"})


class UploadOffsetConflict(LibraryError):
    """A PATCH that does not start where the upload stands, or that races another (409)."""


@dataclass(frozen=True)
class PendingUpload:
    id: UUID
    client_id: UUID
    kind: str  # one of KINDS
    length: int
    metadata: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ReceivedFile:
    """A finished upload as an `IncomingFile` for the plain upload commands."""

    filename: str | None
    file: BinaryIO


class ResumableUploads:
    def __init__(self, root: Path, ttl_seconds: float) -> None:
        self.root, self.ttl = root, ttl_seconds

    def create(self, *, client_id: UUID, kind: str, length: int,
               metadata: dict[str, str]) -> PendingUpload:
        upload = PendingUpload(uuid.uuid4(), client_id, kind, length, dict(metadata))
        folder = self._folder(upload.id)
        folder.mkdir(parents=True)
        (folder / "data").touch()
        info = {"client_id": str(client_id), "kind": kind, "length": length,
                "metadata": upload.metadata}
        (folder / "info.tmp").write_text(json.dumps(info))
        (folder / "info.tmp").replace(folder / "info.json")  # never half written
        return upload

    def get(self, upload_id: UUID) -> PendingUpload:
        """An upload (whose it is, the caller's rule decides): NotFound when unknown
        or expired."""
        folder = self._folder(upload_id)
        try:
            info = json.loads((folder / "info.json").read_text())
        except (OSError, ValueError):
            raise NotFound(f"upload {upload_id} not found") from None
        if self._expired(folder, time.time()):
            raise NotFound(f"upload {upload_id} not found")
        return PendingUpload(upload_id, UUID(info["client_id"]), info["kind"],
                             int(info["length"]), dict(info["metadata"]))

    def offset(self, upload: PendingUpload) -> int:
        return (self._folder(upload.id) / "data").stat().st_size

    def expires_at(self, upload: PendingUpload) -> float:
        return (self._folder(upload.id) / "data").stat().st_mtime + self.ttl

    @contextmanager
    def appending(self, upload: PendingUpload, offset: int) -> Iterator[BinaryIO]:
        """The upload's data, open at its end, if that is `offset` and no one else writes."""
        with self._locked(upload, "ab") as out:
            at = out.seek(0, os.SEEK_END)
            if at != offset:
                raise UploadOffsetConflict(f"the upload is at byte {at}, not {offset}")
            yield out

    @contextmanager
    def received(self, upload: PendingUpload) -> Iterator[ReceivedFile]:
        """The finished upload's bytes, locked so that only one request hands them on."""
        with self._locked(upload, "rb") as data:
            yield ReceivedFile(upload.metadata.get("filename") or None, data)

    def remove(self, upload_id: UUID) -> None:
        shutil.rmtree(self._folder(upload_id), ignore_errors=True)

    def sweep(self, now: float | None = None) -> int:
        """Remove every upload left alone longer than the time to live; how many."""
        now = time.time() if now is None else now
        if not self.root.is_dir():
            return 0
        expired = [f for f in self.root.iterdir() if f.is_dir() and self._expired(f, now)]
        for folder in expired:
            shutil.rmtree(folder, ignore_errors=True)
        return len(expired)

    def _folder(self, upload_id: UUID) -> Path:
        return self.root / str(UUID(str(upload_id)))  # a UUID: never a path of its own

    def _expired(self, folder: Path, now: float) -> bool:
        try:
            return (folder / "data").stat().st_mtime + self.ttl < now
        except OSError:
            # A folder without data: half created (young) or half removed (old).
            return folder.stat().st_mtime + self.ttl < now

    @contextmanager
    def _locked(self, upload: PendingUpload, mode: str) -> Iterator[BinaryIO]:
        try:
            data = cast(BinaryIO, open(self._folder(upload.id) / "data", mode))  # noqa: SIM115
        except FileNotFoundError:
            raise NotFound(f"upload {upload.id} not found") from None
        with data:
            try:
                fcntl.flock(data, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise UploadOffsetConflict("another request is sending this upload") from None
            yield data
