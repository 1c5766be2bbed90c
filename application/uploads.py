"""Receiving media files: staged to disk while hashed, probed, then stored.

The transports hand the files they received (`IncomingFile`) to a command;
its handler stages and stores them, so nothing is written before the
dispatcher has authorized the command.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from tempfile import TemporaryDirectory
from uuid import UUID

from application.library import StoredUpload
from application.ports import AudioInspector, BlobStorage, IncomingFile
from domain.library import InvalidMedia, MediaTooLarge

CHUNK = 1024 * 1024


@dataclass(frozen=True)
class Staged:
    path: Path
    filename: str
    size: int
    sha256: str


@contextmanager
def staging() -> Iterator[Path]:
    with TemporaryDirectory(prefix="s2g-upload-") as tmp:
        yield Path(tmp)


def filename_of(upload: IncomingFile, index: int) -> str:
    """A client's file name without control characters (PostgreSQL text refuses NUL)."""
    plain = "".join(c for c in upload.filename or "" if c.isprintable())
    return plain.rsplit("/", 1)[-1][:255] or f"upload-{index}"


def stage(upload: IncomingFile, folder: Path, index: int, max_bytes: int) -> Staged:
    """Copy an upload to a file in chunks, hashing as it goes; never all in memory."""
    filename = filename_of(upload, index)
    path = folder / f"{index}.bin"
    digest, size = hashlib.sha256(), 0
    upload.file.seek(0)
    with path.open("wb") as out:
        while chunk := upload.file.read(CHUNK):
            size += len(chunk)
            if size > max_bytes:
                raise MediaTooLarge(
                    f"{filename} is larger than the {max_bytes // (1024 * 1024)} MB limit"
                )
            digest.update(chunk)
            out.write(chunk)
    if size == 0:
        raise InvalidMedia(f"{filename} is empty")
    return Staged(path, filename, size, digest.hexdigest())


def store_audio(
    inspector: AudioInspector, storage: BlobStorage, staged: Staged, *, client_id: UUID,
    item_id: UUID, kind: str, allowed: frozenset[str],
) -> StoredUpload:
    """Probe the staged file's real format and put it in blob storage."""
    probe = inspector.probe(staged.path, allowed)
    key = f"clients/{client_id}/{kind}/{item_id}.{probe.format}"
    with staged.path.open("rb") as source:
        storage.put(key, source, probe.content_type)
    return StoredUpload(staged.filename, staged.size, staged.sha256, key, probe)


def read_image(upload: IncomingFile, max_bytes: int) -> bytes:
    upload.file.seek(0)
    data = upload.file.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise MediaTooLarge(f"the image is larger than the {max_bytes // (1024 * 1024)} MB limit")
    if not data:
        raise InvalidMedia("the image is empty")
    return data
