"""The library's announcements: uploaded, recorded or spoken (text to speech)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from application.common import last_position, retry_on_conflict
from application.library_base import LibraryBase, Removed, StoredUpload
from domain.announcement import Announcement, Media
from domain.base import CommandContext, NotFound, acting
from domain.folder import Folder
from domain.library import FolderType


class AnnouncementCommands(LibraryBase):
    @retry_on_conflict
    def add_announcement(
        self, ctx: CommandContext, client_id: UUID, ann_id: UUID, upload: StoredUpload, *,
        title: str, folder_id: UUID | None, is_recording: bool, limit_bytes: int,
    ) -> tuple[Announcement, int | None]:
        folder = self._target_folder(folder_id, client_id, FolderType.ANNOUNCEMENT)
        with acting(ctx):
            quota = self._quota(client_id)
            quota.reserve(ann_id, upload.file_size, limit_bytes)
            ann = Announcement.upload(
                id=ann_id, client_id=client_id, title=title or upload.filename,
                folder_id=folder_id, media=upload.media(), is_recording=is_recording,
            )
            if folder is not None:
                folder.add(ann_id)
        return ann, last_position(self.save(quota, ann, folder))

    @retry_on_conflict
    def request_speech(
        self, ctx: CommandContext, client_id: UUID, *, text: str, title: str,
        voice: str, language: str, folder_id: UUID | None,
    ) -> tuple[Announcement, int | None]:
        folder = self._target_folder(folder_id, client_id, FolderType.ANNOUNCEMENT)
        with acting(ctx):
            ann = Announcement.request_speech(
                client_id=client_id, title=title, folder_id=folder_id, text=text,
                voice=voice, language=language,
            )
            if folder is not None:
                folder.add(ann.id)
        return ann, last_position(self.save(ann, folder))

    @retry_on_conflict
    def record_speech(
        self, ctx: CommandContext, ann_id: UUID, media: Media, limit_bytes: int
    ) -> int | None:
        ann = self._owned(ann_id, Announcement, "announcement", None)
        if ann.is_deleted:
            return None
        with acting(ctx):
            if not ann.record_speech(media):
                return None
            quota = self._quota(ann.client_id)
            quota.reserve(ann.id, media.file_size, limit_bytes)
        return last_position(self.save(ann, quota))

    @retry_on_conflict
    def record_speech_failure(self, ctx: CommandContext, ann_id: UUID, reason: str) -> int | None:
        ann = self._owned(ann_id, Announcement, "announcement", None)
        if ann.is_deleted:
            return None
        with acting(ctx):
            changed = ann.record_failure(reason)
        return last_position(self.save(ann)) if changed else None

    @retry_on_conflict
    def edit_announcement(
        self, ctx: CommandContext, client_id: UUID | None, ann_id: UUID, **changes: Any
    ) -> tuple[Announcement, int | None]:
        ann = self.get_announcement(ann_id, client_id)
        touched: list[Folder] = []
        with acting(ctx):
            if "folder_id" in changes and changes["folder_id"] != ann.folder_id:
                touched = self._move_announcement(ann, changes["folder_id"])
            ann.edit(**changes)
        return ann, last_position(self.save(ann, *touched))

    def _move_announcement(self, ann: Announcement, new_folder_id: UUID | None) -> list[Folder]:
        touched = []
        if ann.folder_id is not None:
            try:
                old = self.get_folder(ann.folder_id, ann.client_id)
                old.remove(ann.id)
                touched.append(old)
            except NotFound:
                pass
        new = self._target_folder(new_folder_id, ann.client_id, FolderType.ANNOUNCEMENT)
        if new is not None:
            new.add(ann.id)
            touched.append(new)
        return touched

    @retry_on_conflict
    def delete_announcement(
        self, ctx: CommandContext, client_id: UUID | None, ann_id: UUID
    ) -> Removed:
        ann = self.get_announcement(ann_id, client_id)
        touched: list[Any] = []
        with acting(ctx):
            touched += self._move_announcement(ann, None)
            ann.delete()
            if ann.media is not None:
                quota = self._quota(ann.client_id)
                quota.release(ann.id, ann.media.file_size)
                touched.append(quota)
        keys = [k for k in (ann.media and ann.media.media_key, ann.waveform_key) if k]
        return Removed(last_position(self.save(ann, *touched)), keys)
