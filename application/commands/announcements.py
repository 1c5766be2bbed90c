"""Announcements: spoken from text, uploaded or recorded, edited, and played now.

An upload carries the file the transport received; its handler stages and
stores it, so nothing is written before the dispatcher has authorized it.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from application.commands.library import UploadLimits, folder_target, member_client
from application.dispatch import Command, Handler
from application.library import LibraryApplication, Removed
from application.media_jobs import MediaProcessor
from application.playback import PlaybackApplication, Result
from application.ports import Catalog, IncomingFile
from application.rules import CLIENT_MEMBER, TENANT_WRITE, Grant, Target
from application.uploads import stage, staging, store_audio
from domain.announcement import Announcement
from domain.base import CommandContext
from domain.library import ANNOUNCEMENT_FORMATS
from domain.track import default_title

AnnouncementResult = tuple[Announcement, int | None]


@dataclass(frozen=True)
class RequestSpeech(Command[AnnouncementResult]):
    """Text to speak (the audio is made in the background)."""

    rule, target_kind = CLIENT_MEMBER, "folder"
    text: str
    language: str
    title: str = ""
    voice: str = ""
    folder_id: UUID | None = None

    def target(self) -> Target | None:
        return folder_target(self.folder_id)


@dataclass(frozen=True)
class UploadAnnouncement(Command[AnnouncementResult]):
    rule, target_kind = CLIENT_MEMBER, "folder"
    file: IncomingFile
    title: str = ""
    folder_id: UUID | None = None
    is_recording: bool = False

    def target(self) -> Target | None:
        return folder_target(self.folder_id)


@dataclass(frozen=True)
class EditAnnouncement(Command[AnnouncementResult]):
    rule, target_kind = TENANT_WRITE, "announcement"
    announcement_id: UUID
    changes: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class DeleteAnnouncement(Command[Removed]):
    rule, target_kind = TENANT_WRITE, "announcement"
    announcement_id: UUID


@dataclass(frozen=True)
class PlayAnnouncementNow(Command[list[Result]]):
    """Interrupt these zones with the announcement (all of them the
    announcement's client's, or none is interrupted)."""

    rule, target_kind = TENANT_WRITE, "announcement"
    announcement_id: UUID
    zone_ids: tuple[UUID, ...] = ()


def handlers(library: LibraryApplication, media: MediaProcessor, limits: UploadLimits,
             catalog: Catalog, playback: PlaybackApplication
             ) -> list[tuple[type[Any], Handler]]:
    def speech(c: RequestSpeech, g: Grant, ctx: CommandContext) -> AnnouncementResult:
        return library.request_speech(ctx, member_client(g), text=c.text, title=c.title,
                                      voice=c.voice, language=c.language,
                                      folder_id=c.folder_id)

    def upload(c: UploadAnnouncement, g: Grant, ctx: CommandContext) -> AnnouncementResult:
        client_id = member_client(g)
        if c.folder_id is not None:
            library.get_folder(c.folder_id, client_id)
        quota = media.storage_limit(client_id)
        ann_id = uuid.uuid4()
        with staging() as tmp:
            staged = stage(c.file, tmp, 0, limits.max_upload_bytes)
            stored = store_audio(media.inspector, media.storage, staged, client_id=client_id,
                                 item_id=ann_id, kind="announcements",
                                 allowed=ANNOUNCEMENT_FORMATS)
        try:
            return library.add_announcement(
                ctx, client_id, ann_id, stored, title=c.title or default_title(staged.filename),
                folder_id=c.folder_id, is_recording=c.is_recording, limit_bytes=quota)
        except BaseException:
            media.storage.delete(stored.media_key)  # nothing recorded: nothing kept
            raise

    def delete(c: DeleteAnnouncement, g: Grant, ctx: CommandContext) -> Removed:
        removed = library.delete_announcement(ctx, g.scope, c.announcement_id)
        for key in removed.media_keys:
            media.storage.delete(key)
        return removed

    def play_now(c: PlayAnnouncementNow, g: Grant, ctx: CommandContext) -> list[Result]:
        assert g.owner is not None  # the announcement's client: its zones only
        item = catalog.announcement_item(g.owner, c.announcement_id)
        return playback.play_announcement(ctx, g.owner, c.zone_ids, item)

    return [
        (RequestSpeech, speech),
        (UploadAnnouncement, upload),
        (EditAnnouncement, lambda c, g, ctx: library.edit_announcement(
            ctx, g.scope, c.announcement_id, **c.changes)),
        (DeleteAnnouncement, delete),
        (PlayAnnouncementNow, play_now),
    ]
