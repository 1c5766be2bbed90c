"""The Library application: folders, tracks, announcements and storage quotas."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from uuid import UUID

from application.common import last_position, retry_on_conflict
from application.library_announcements import AnnouncementCommands
from application.library_base import Removed, StoredUpload
from domain.base import CommandContext, NotFound, acting
from domain.folder import Folder
from domain.key_index import KeyIndex, content_key
from domain.library import FolderType
from domain.track import Track

__all__ = ["LibraryApplication", "Removed", "StoredUpload"]


class LibraryApplication(AnnouncementCommands):
    """Its tracks here; folders, quotas and content keys in `LibraryBase`
    (application/library_base.py), announcements in `AnnouncementCommands`."""

    name = "library"

    @retry_on_conflict
    def add_track(
        self, ctx: CommandContext, client_id: UUID, track_id: UUID, upload: StoredUpload,
        *, folder_id: UUID | None, limit_bytes: int, tags: Mapping[str, str] | None = None,
    ) -> tuple[Track, int | None]:
        """Record an uploaded track: unique content, within quota, in its folder, at once.

        `tags` given with the upload (title, artist, album) are recorded as the
        user's edit in the same save, so they win over the tags read later."""
        folder = self._target_folder(folder_id, client_id, FolderType.MUSIC)
        index = self._claim_content(client_id, "track", upload.sha256, track_id, upload.filename)
        with acting(ctx):
            quota = self._quota(client_id)
            quota.reserve(track_id, upload.file_size, limit_bytes)
            track = Track.upload(
                id=track_id, client_id=client_id, folder_id=folder_id,
                filename=upload.filename, file_size=upload.file_size,
                content_hash=upload.sha256, media_key=upload.media_key,
                content_type=upload.probe.content_type, format=upload.probe.format,
                duration=upload.probe.duration,
            )
            if tags:
                track.edit(**tags)
            if index is None:
                index = KeyIndex(key=content_key(client_id, "track", upload.sha256),
                                 owner_id=track_id)
            else:
                index.reclaim(track_id)
            if folder is not None:
                folder.add(track_id)
        return track, last_position(self.save(quota, track, index, folder))

    @retry_on_conflict
    def record_track_metadata(
        self, ctx: CommandContext, track_id: UUID, **metadata: Any
    ) -> int | None:
        track = self._owned(track_id, Track, "track", None)
        if track.is_deleted:
            return None
        with acting(ctx):
            changed = track.record_metadata(**metadata)
        return last_position(self.save(track)) if changed else None

    @retry_on_conflict
    def record_track_failure(self, ctx: CommandContext, track_id: UUID, reason: str) -> int | None:
        track = self._owned(track_id, Track, "track", None)
        if track.is_deleted:
            return None
        with acting(ctx):
            changed = track.record_failure(reason)
        return last_position(self.save(track)) if changed else None

    @retry_on_conflict
    def edit_track(
        self, ctx: CommandContext, client_id: UUID | None, track_id: UUID, **changes: Any
    ) -> tuple[Track, int | None]:
        track = self.get_track(track_id, client_id)
        touched: list[Folder] = []
        with acting(ctx):
            if "folder_id" in changes:
                new_folder_id = changes.pop("folder_id")
                if new_folder_id != track.folder_id:
                    touched = self._move(track, new_folder_id)
            track.edit(**changes)
        return track, last_position(self.save(track, *touched))

    def _move(self, track: Track, new_folder_id: UUID | None) -> list[Folder]:
        touched = []
        if track.folder_id is not None:
            try:
                old = self.get_folder(track.folder_id, track.client_id)
                old.remove(track.id)
                touched.append(old)
            except NotFound:
                pass
        new = self._target_folder(new_folder_id, track.client_id, FolderType.MUSIC)
        if new is not None:
            new.add(track.id)
            touched.append(new)
        track.move_to(new_folder_id)
        return touched

    @retry_on_conflict
    def set_track_cover(
        self, ctx: CommandContext, client_id: UUID | None, track_id: UUID,
        cover_key: str, thumbnail_key: str,
    ) -> tuple[Track, int | None]:
        track = self.get_track(track_id, client_id)
        with acting(ctx):
            track.set_cover(cover_key, thumbnail_key)
        return track, last_position(self.save(track))

    @retry_on_conflict
    def delete_track(self, ctx: CommandContext, client_id: UUID | None, track_id: UUID) -> Removed:
        """Delete a track: out of its folder, its quota freed, its content key released."""
        track = self.get_track(track_id, client_id)
        touched: list[Any] = []
        with acting(ctx):
            touched += self._move(track, None)
            track.delete()
            quota = self._quota(track.client_id)
            quota.release(track.id, track.file_size)
            touched.append(quota)
            touched += self._release_content(track.client_id, "track", track.content_hash,
                                             track.id)
        keys = [k for k in (track.media_key, track.cover_key, track.thumbnail_key,
                            track.waveform_key) if k]
        return Removed(last_position(self.save(track, *touched)), keys)
