"""The library's common part: uploads as stored, loading with the tenancy wall, quotas,
content keys and folders (its tracks: application/library.py; its announcements:
application/library_announcements.py)."""

from __future__ import annotations

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


class LibraryBase(VersionedApplication, Application[UUID]):
    """What every part of the library uses: loading with the tenancy wall, quotas,
    content keys, folders."""

    snapshotting_intervals: ClassVar[dict[type[Any], int]] = {
        StorageQuota: 100, Folder: 100, KeyIndex: 50,
    }

    def __init__(self, env: EnvType | None = None) -> None:
        super().__init__(env)

    def register_transcodings(self, transcoder: JSONTranscoder) -> None:
        super().register_transcodings(transcoder)
        register_common_transcodings(transcoder)

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

    # -- content keys and loudness ----------------------------------------------

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
