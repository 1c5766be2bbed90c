"""The music library: folders, uploaded tracks, their metadata and cover art.

Uploads and covers carry the files the transport received (`IncomingFile`);
their handlers stage, probe and store them, so nothing is written before the
dispatcher has authorized the command.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from uuid import UUID

from application.dispatch import Command, Handler
from application.library import LibraryApplication, Removed
from application.media_jobs import MediaProcessor
from application.ports import IncomingFile
from application.rules import ADMIN, CLIENT_MEMBER, TENANT_WRITE, Grant, Target
from application.uploads import read_image, stage, staging, store_audio
from domain.base import CommandContext
from domain.folder import Folder
from domain.library import MUSIC_FORMATS, DuplicateMedia, FolderType, LibraryError
from domain.track import Track

FolderResult = tuple[Folder, int | None]
TrackResult = tuple[Track, int | None]


@dataclass(frozen=True)
class UploadLimits:
    max_upload_bytes: int  # one file
    max_files_per_upload: int
    max_image_bytes: int


def folder_target(folder_id: UUID | None) -> Target | None:
    """Adding to the library, maybe into a folder: the folder, when named, is
    the target (it must be the caller's client's)."""
    return None if folder_id is None else Target("folder", folder_id)


def member_client(grant: Grant) -> UUID:
    assert grant.scope is not None  # CLIENT_MEMBER: the caller's own client
    return grant.scope


# -- folders -------------------------------------------------------------------


@dataclass(frozen=True)
class CreateFolder(Command[FolderResult]):
    rule = CLIENT_MEMBER
    name: str
    description: str = ""
    type: FolderType = FolderType.MUSIC


@dataclass(frozen=True)
class CreateSystemFolder(Command[FolderResult]):
    """A system folder in a client's library (its users cannot delete it)."""

    rule, target_kind = ADMIN, "client"
    client_id: UUID
    name: str
    description: str = ""
    type: FolderType = FolderType.MUSIC


@dataclass(frozen=True)
class FolderCommand(Command[FolderResult]):
    rule, target_kind = TENANT_WRITE, "folder"
    folder_id: UUID


@dataclass(frozen=True)
class ChangeFolder(FolderCommand):
    changes: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ReorderFolder(FolderCommand):
    track_ids: tuple[UUID, ...] = ()


@dataclass(frozen=True)
class SetFolderCover(FolderCommand):
    image: IncomingFile


@dataclass(frozen=True)
class DeleteFolder(Command[int | None]):
    rule, target_kind = TENANT_WRITE, "folder"
    folder_id: UUID


# -- tracks --------------------------------------------------------------------


@dataclass(frozen=True)
class Refused:
    """A file of an upload that was not added, and why."""

    filename: str
    error: LibraryError


@dataclass
class UploadReport:
    created: list[Track] = field(default_factory=list)
    duplicates: list[Refused] = field(default_factory=list)  # errors are DuplicateMedia
    rejected: list[Refused] = field(default_factory=list)
    position: int | None = None


@dataclass(frozen=True)
class UploadTracks(Command[UploadReport]):
    """Music files into the caller's library (each one is created, a duplicate,
    or rejected on its own)."""

    rule, target_kind = CLIENT_MEMBER, "folder"
    files: tuple[IncomingFile, ...]
    folder_id: UUID | None = None
    # Given at upload (title, artist, album): recorded as the user's edit of
    # every file, so tags read later in the background do not replace them.
    tags: tuple[tuple[str, str], ...] = ()

    def target(self) -> Target | None:
        return folder_target(self.folder_id)


@dataclass(frozen=True)
class TrackCommand(Command[TrackResult]):
    rule, target_kind = TENANT_WRITE, "track"
    track_id: UUID


@dataclass(frozen=True)
class EditTrack(TrackCommand):
    changes: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class SetTrackCover(TrackCommand):
    image: IncomingFile


@dataclass(frozen=True)
class DeleteTrack(Command[Removed]):
    rule, target_kind = TENANT_WRITE, "track"
    track_id: UUID


# -- handlers ------------------------------------------------------------------


def handlers(library: LibraryApplication, media: MediaProcessor,
             limits: UploadLimits) -> list[tuple[type[Any], Handler]]:
    def create(c: CreateFolder, g: Grant, ctx: CommandContext) -> FolderResult:
        return library.create_folder(ctx, member_client(g), type=c.type, name=c.name,
                                     description=c.description)

    def create_system(c: CreateSystemFolder, g: Grant, ctx: CommandContext) -> FolderResult:
        return library.create_folder(ctx, c.client_id, type=c.type, name=c.name,
                                     description=c.description, is_system=True)

    def cover(client_id: UUID, owner_id: UUID, image: IncomingFile) -> tuple[str, str]:
        return media.store_cover(client_id, owner_id,
                                 read_image(image, limits.max_image_bytes))

    def folder_cover(c: SetFolderCover, g: Grant, ctx: CommandContext) -> FolderResult:
        folder = library.get_folder(c.folder_id, g.scope)  # deleted since: store nothing
        keys = cover(folder.client_id, c.folder_id, c.image)
        return library.set_folder_cover(ctx, g.scope, c.folder_id, *keys)

    def track_cover(c: SetTrackCover, g: Grant, ctx: CommandContext) -> TrackResult:
        track = library.get_track(c.track_id, g.scope)
        keys = cover(track.client_id, c.track_id, c.image)
        return library.set_track_cover(ctx, g.scope, c.track_id, *keys)

    def delete_track(c: DeleteTrack, g: Grant, ctx: CommandContext) -> Removed:
        removed = library.delete_track(ctx, g.scope, c.track_id)
        for key in removed.media_keys:
            media.storage.delete(key)
        return removed

    return [
        (CreateFolder, create),
        (CreateSystemFolder, create_system),
        (ChangeFolder, lambda c, g, ctx: library.change_folder(ctx, g.scope, c.folder_id,
                                                               **c.changes)),
        (ReorderFolder, lambda c, g, ctx: library.reorder_folder(ctx, g.scope, c.folder_id,
                                                                 list(c.track_ids))),
        (SetFolderCover, folder_cover),
        (DeleteFolder, lambda c, g, ctx: library.delete_folder(ctx, g.scope, c.folder_id)),
        (UploadTracks, Uploader(library, media, limits).run),
        (EditTrack, lambda c, g, ctx: library.edit_track(ctx, g.scope, c.track_id,
                                                         **c.changes)),
        (SetTrackCover, track_cover),
        (DeleteTrack, delete_track),
    ]


class Uploader:
    """Stores an authorized upload's files one by one: dedupe by content, probe,
    store, record within the quota (a file not recorded is not kept)."""

    def __init__(self, library: LibraryApplication, media: MediaProcessor,
                 limits: UploadLimits) -> None:
        self.library, self.media, self.limits = library, media, limits

    def run(self, c: UploadTracks, g: Grant, ctx: CommandContext) -> UploadReport:
        client_id = member_client(g)
        if len(c.files) > self.limits.max_files_per_upload:
            raise LibraryError(f"at most {self.limits.max_files_per_upload} files at once")
        if c.folder_id is not None:
            self.library.get_folder(c.folder_id, client_id)
        quota = self.media.storage_limit(client_id)
        report = UploadReport()
        with staging() as tmp:
            for index, file in enumerate(c.files):
                try:
                    track, report.position = self._one(ctx, client_id, file, index, tmp,
                                                       c, quota)
                    report.created.append(track)
                except DuplicateMedia as e:
                    report.duplicates.append(Refused(file.filename or "", e))
                except LibraryError as e:
                    report.rejected.append(Refused(file.filename or "", e))
        return report

    def _one(self, ctx: CommandContext, client_id: UUID, file: IncomingFile, index: int,
             tmp: Path, c: UploadTracks, quota: int) -> TrackResult:
        staged = stage(file, tmp, index, self.limits.max_upload_bytes)
        existing = self.library.content_owner(client_id, "track", staged.sha256)
        if existing is not None:
            raise DuplicateMedia(f"{staged.filename} is already in the library (same content)",
                                 str(existing))
        track_id = uuid.uuid4()
        stored = store_audio(self.media.inspector, self.media.storage, staged,
                             client_id=client_id, item_id=track_id, kind="tracks",
                             allowed=MUSIC_FORMATS)
        try:
            return self.library.add_track(ctx, client_id, track_id, stored,
                                          folder_id=c.folder_id, limit_bytes=quota,
                                          tags=dict(c.tags))
        except BaseException:
            self.media.storage.delete(stored.media_key)  # nothing recorded: nothing kept
            raise
