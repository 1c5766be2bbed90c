"""The Library application: folders, tracks, announcements and storage quotas."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.persistence import JSONTranscoder
from eventsourcing.utils import EnvType

from application.common import last_position, register_common_transcodings, retry_on_conflict
from application.ports import AudioProbe
from application.versions import VersionedApplication
from domain.announcement import Announcement, Media
from domain.base import CommandContext, NotFound, acting
from domain.folder import Folder
from domain.key_index import KeyIndex, content_key, index_id
from domain.library import DuplicateMedia, FolderType, FolderTypeMismatch
from domain.quota import StorageQuota, quota_id
from domain.track import Track


@dataclass(frozen=True)
class StoredUpload:
    """An upload already streamed to blob storage and probed."""

    filename: str
    file_size: int
    sha256: str
    media_key: str
    probe: AudioProbe

    def media(self) -> Media:
        return Media(
            media_key=self.media_key, content_type=self.probe.content_type,
            format=self.probe.format, duration=self.probe.duration,
            file_size=self.file_size, content_hash=self.sha256,
        )


@dataclass(frozen=True)
class Removed:
    """What a deletion freed: blobs to delete once the events are stored."""

    position: int | None
    media_keys: list[str]


class LibraryApplication(VersionedApplication, Application[UUID]):
    name = "library"
    snapshotting_intervals: ClassVar[dict[type[Any], int]] = {
        StorageQuota: 100, Folder: 100, KeyIndex: 50,
    }

    def __init__(self, env: EnvType | None = None) -> None:
        super().__init__(env)

    def register_transcodings(self, transcoder: JSONTranscoder) -> None:
        super().register_transcodings(transcoder)
        register_common_transcodings(transcoder)

    # -- loading with the tenancy wall -------------------------------------

    def get_folder(self, folder_id: UUID, client_id: UUID | None = None) -> Folder:
        folder: Folder = self._owned(folder_id, Folder, "folder", client_id)
        if folder.is_deleted:
            raise NotFound(f"folder {folder_id} not found")
        return folder

    def get_track(self, track_id: UUID, client_id: UUID | None = None) -> Track:
        track: Track = self._owned(track_id, Track, "track", client_id)
        if track.is_deleted:
            raise NotFound(f"track {track_id} not found")
        return track

    def get_announcement(self, ann_id: UUID, client_id: UUID | None = None) -> Announcement:
        ann: Announcement = self._owned(ann_id, Announcement, "announcement", client_id)
        if ann.is_deleted:
            raise NotFound(f"announcement {ann_id} not found")
        return ann

    def _owned(self, agg_id: UUID, cls: type[Any] | tuple[type[Any], ...], what: str,
               client_id: UUID | None) -> Any:
        """Load an aggregate; another client's object is reported as absent."""
        try:
            agg: Any = self.repository.get(agg_id)
        except AggregateNotFoundError:
            raise NotFound(f"{what} {agg_id} not found") from None
        if not isinstance(agg, cls) or (client_id is not None and agg.client_id != client_id):
            raise NotFound(f"{what} {agg_id} not found")
        return agg

    def used_bytes(self, client_id: UUID) -> int:
        try:
            quota: StorageQuota = self.repository.get(quota_id(client_id))
        except AggregateNotFoundError:
            return 0
        return quota.used_bytes

    def _quota(self, client_id: UUID) -> StorageQuota:
        """The client's quota, opened on first use (call inside `acting`)."""
        try:
            quota: StorageQuota = self.repository.get(quota_id(client_id))
        except AggregateNotFoundError:
            quota = StorageQuota(client_id=client_id)
        return quota

    # -- folders -------------------------------------------------------------

    @retry_on_conflict
    def create_folder(
        self, ctx: CommandContext, client_id: UUID, *, type: FolderType,  # noqa: A002
        name: str, description: str = "", is_system: bool = False,
    ) -> tuple[Folder, int | None]:
        with acting(ctx):
            folder = Folder.create(client_id=client_id, type=type, name=name,
                                   description=description, created_by=ctx.user_id,
                                   is_system=is_system)
        return folder, last_position(self.save(folder))

    @retry_on_conflict
    def change_folder(
        self, ctx: CommandContext, client_id: UUID | None, folder_id: UUID, **changes: Any
    ) -> tuple[Folder, int | None]:
        folder = self.get_folder(folder_id, client_id)
        with acting(ctx):
            folder.change(**changes)
        return folder, last_position(self.save(folder))

    @retry_on_conflict
    def reorder_folder(
        self, ctx: CommandContext, client_id: UUID | None, folder_id: UUID, items: list[UUID]
    ) -> tuple[Folder, int | None]:
        folder = self.get_folder(folder_id, client_id)
        with acting(ctx):
            folder.reorder(items)
        return folder, last_position(self.save(folder))

    @retry_on_conflict
    def set_folder_cover(
        self, ctx: CommandContext, client_id: UUID | None, folder_id: UUID,
        cover_key: str, thumbnail_key: str,
    ) -> tuple[Folder, int | None]:
        folder = self.get_folder(folder_id, client_id)
        with acting(ctx):
            folder.set_cover(cover_key, thumbnail_key)
        return folder, last_position(self.save(folder))

    @retry_on_conflict
    def delete_folder(
        self, ctx: CommandContext, client_id: UUID | None, folder_id: UUID
    ) -> int | None:
        """Delete a folder; its tracks and announcements stay, outside any folder.
        A system folder only without a client scope (an admin, the operator)."""
        folder = self.get_folder(folder_id, client_id)
        members: list[Any] = []
        items = list(folder.items)
        with acting(ctx):
            folder.delete(including_system=client_id is None)  # refused before any move
            for item_id in items:
                member: Any = self.repository.get(item_id)
                if isinstance(member, Track) and not member.is_deleted:
                    member.move_to(None)
                elif isinstance(member, Announcement) and not member.is_deleted:
                    member.edit(folder_id=None)
                members.append(member)
        return last_position(self.save(folder, *members))

    def _target_folder(
        self, folder_id: UUID | None, client_id: UUID, kind: FolderType
    ) -> Folder | None:
        if folder_id is None:
            return None
        folder = self.get_folder(folder_id, client_id)
        if folder.type is not kind:
            raise FolderTypeMismatch(f"folder {folder_id} holds {folder.type.value}s, "
                                     f"not {kind.value}s")
        return folder

    # -- tracks --------------------------------------------------------------

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

    def content_owner(self, client_id: UUID, kind: str, sha256: str) -> UUID | None:
        """The item that holds this content in the client's library, if any."""
        try:
            index: KeyIndex = self.repository.get(index_id(content_key(client_id, kind, sha256)))
        except AggregateNotFoundError:
            return None
        return index.owner_id

    def _claim_content(
        self, client_id: UUID, kind: str, sha256: str, new_id: UUID, filename: str
    ) -> KeyIndex | None:
        """The released index to reclaim, None if never claimed; raise if taken."""
        try:
            index: KeyIndex = self.repository.get(index_id(content_key(client_id, kind, sha256)))
        except AggregateNotFoundError:
            return None
        if index.owner_id is not None and index.owner_id != new_id:
            raise DuplicateMedia(
                f"{filename} is already in the library (same content)", str(index.owner_id)
            )
        return index

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
    def record_loudness(self, ctx: CommandContext, item_id: UUID, *,
                        integrated_lufs: float | None, true_peak_dbtp: float | None,
                        waveform_key: str) -> int | None:
        """A track's or announcement's measured loudness (once; None if nothing new)."""
        item: Any = self._owned(item_id, (Track, Announcement), "item", None)
        if item.is_deleted:
            return None
        with acting(ctx):
            changed = item.record_loudness(integrated_lufs, true_peak_dbtp, waveform_key)
        return last_position(self.save(item)) if changed else None

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

    def _release_content(
        self, client_id: UUID, kind: str, sha256: str, owner_id: UUID
    ) -> list[KeyIndex]:
        try:
            index: KeyIndex = self.repository.get(index_id(content_key(client_id, kind, sha256)))
        except AggregateNotFoundError:
            return []
        if index.owner_id == owner_id:
            index.release()
            return [index]
        return []

    # -- announcements ---------------------------------------------------------

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
