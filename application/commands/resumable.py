"""Starting a resumable (tus) upload: room is checked before any byte is sent.

Finishing one is not a command of its own: the finished file goes to the
plain upload commands (`UploadTracks`, `UploadAnnouncement`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from uuid import UUID

from application.commands.library import UploadLimits, folder_target, member_client
from application.dispatch import Command, Handler
from application.library import LibraryApplication
from application.media_jobs import MediaProcessor
from application.resumable import PendingUpload, ResumableUploads
from application.rules import CLIENT_MEMBER, Grant, Target
from domain.base import CommandContext
from domain.library import MediaTooLarge, StorageQuotaExceeded

MB = 1024 * 1024


@dataclass(frozen=True)
class StartResumableUpload(Command[PendingUpload]):
    """Room for a file sent in pieces: no larger than one upload may be, nor
    than what is left of the client's storage."""

    rule, target_kind = CLIENT_MEMBER, "folder"
    kind: str
    length: int
    metadata: tuple[tuple[str, str], ...] = ()
    folder_id: UUID | None = None

    def target(self) -> Target | None:
        return folder_target(self.folder_id)


def handlers(library: LibraryApplication, media: MediaProcessor, limits: UploadLimits,
             uploads: ResumableUploads) -> list[tuple[type[Any], Handler]]:
    def start(c: StartResumableUpload, g: Grant, ctx: CommandContext) -> PendingUpload:
        client_id = member_client(g)
        if c.folder_id is not None:
            library.get_folder(c.folder_id, client_id)
        if c.length > limits.max_upload_bytes:
            raise MediaTooLarge(f"the file is larger than the {limits.max_upload_bytes // MB} "
                                "MB limit")
        free = max(0, media.storage_limit(client_id) - library.used_bytes(client_id))
        if c.length > free:
            raise StorageQuotaExceeded(f"storage quota exceeded: {c.length / MB:.1f} MB "
                                       f"needed, {free / MB:.1f} MB free")
        uploads.sweep()  # cleanup on access: no sweeper process of its own
        return uploads.create(client_id=client_id, kind=c.kind, length=c.length,
                              metadata=dict(c.metadata))

    return [(StartResumableUpload, start)]
