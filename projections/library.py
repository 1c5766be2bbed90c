"""The library read model: folders, tracks (searchable), announcements, storage use."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Collection
from typing import Any
from uuid import UUID

from eventsourcing.dispatch import singledispatchmethod
from eventsourcing.persistence import Tracking, TrackingRecorder
from eventsourcing.projection import Projection

from domain.announcement import Announcement
from domain.folder import Folder
from domain.quota import StorageQuota
from domain.sound import Loudness
from domain.track import Track, default_title
from projections.accounts import Page

Row = dict[str, Any]


class LibraryView(TrackingRecorder, ABC):
    @abstractmethod
    def put(self, table: str, row: Row, tracking: Tracking) -> None: ...

    @abstractmethod
    def change(self, table: str, row_id: UUID, changes: Row, tracking: Tracking) -> None: ...

    @abstractmethod
    def remove(self, table: str, row_id: UUID, tracking: Tracking) -> None: ...

    @abstractmethod
    def add_item(self, folder_id: UUID, item_id: UUID, tracking: Tracking) -> None:
        """Put the item last in the folder; the folder's count follows."""

    @abstractmethod
    def remove_item(self, folder_id: UUID, item_id: UUID, tracking: Tracking) -> None: ...

    @abstractmethod
    def set_order(self, folder_id: UUID, items: list[UUID], tracking: Tracking) -> None:
        """Number the folder's items 0.. in this order."""

    @abstractmethod
    def delete_folder(self, folder_id: UUID, tracking: Tracking) -> None:
        """Remove the folder; its items stay, outside any folder."""

    @abstractmethod
    def add_usage(self, quota_id: UUID, delta: int, tracking: Tracking) -> None: ...

    # queries
    @abstractmethod
    def get(self, table: str, row_id: UUID) -> Row | None: ...

    @abstractmethod
    def list_folders(self, *, client_id: UUID | None, type: str | None,  # noqa: A002
                     offset: int, limit: int) -> Page: ...

    @abstractmethod
    def list_tracks(self, *, client_id: UUID | None, folder_id: UUID | None, offset: int,
                    limit: int) -> Page: ...

    @abstractmethod
    def search_tracks(self, *, client_id: UUID | None, query: str, offset: int,
                      limit: int) -> Page: ...

    @abstractmethod
    def list_announcements(self, *, client_id: UUID | None, folder_id: UUID | None,
                           offset: int, limit: int) -> Page: ...

    @abstractmethod
    def loudness_of(self, ids: Collection[UUID]) -> dict[UUID, Loudness]:
        """The measured tracks and announcements among `ids` (silent: -inf LUFS)."""

    @abstractmethod
    def storage_used(self, client_id: UUID) -> int: ...

    @abstractmethod
    def storage_by_client(self, client_ids: list[UUID]) -> dict[UUID, int]:
        """Bytes stored by each of these clients (0 for those that never uploaded)."""

    @abstractmethod
    def storage_total(self) -> int:
        """Bytes stored by all clients together."""


class LibraryProjection(Projection[LibraryView]):
    name = "library_view"

    @singledispatchmethod
    def process_event(self, domain_event: Any, tracking: Tracking) -> None:
        self.view.insert_tracking(tracking)

    # folders
    @process_event.register
    def _folder_created(self, e: Folder.Created, tracking: Tracking) -> None:
        self.view.put("library_folders", {
            "id": e.originator_id, "client_id": e.client_id, "type": e.type, "name": e.name,
            "description": e.description, "cover_key": None, "thumbnail_key": None,
            "item_count": 0, "is_system": e.is_system, "created_by": e.created_by,
            "created_at": e.timestamp, "updated_at": e.timestamp,
        }, tracking)

    @process_event.register
    def _folder_changed(self, e: Folder.DetailsChanged, tracking: Tracking) -> None:
        self.view.change("library_folders", e.originator_id,
                         {**e.changes, "updated_at": e.timestamp}, tracking)

    @process_event.register
    def _folder_cover(self, e: Folder.CoverSet, tracking: Tracking) -> None:
        self.view.change("library_folders", e.originator_id, {
            "cover_key": e.cover_key, "thumbnail_key": e.thumbnail_key,
            "updated_at": e.timestamp}, tracking)

    @process_event.register
    def _folder_added(self, e: Folder.ItemAdded, tracking: Tracking) -> None:
        self.view.add_item(e.originator_id, e.item_id, tracking)

    @process_event.register
    def _folder_removed(self, e: Folder.ItemRemoved, tracking: Tracking) -> None:
        self.view.remove_item(e.originator_id, e.item_id, tracking)

    @process_event.register
    def _folder_reordered(self, e: Folder.Reordered, tracking: Tracking) -> None:
        self.view.set_order(e.originator_id, e.items, tracking)

    @process_event.register
    def _folder_deleted(self, e: Folder.Deleted, tracking: Tracking) -> None:
        self.view.delete_folder(e.originator_id, tracking)

    # tracks
    @process_event.register
    def _track_uploaded(self, e: Track.Uploaded, tracking: Tracking) -> None:
        self.view.put("library_tracks", {
            "id": e.originator_id, "client_id": e.client_id, "folder_id": e.folder_id,
            "position": None, "filename": e.filename, "file_size": e.file_size,
            "content_hash": e.content_hash, "media_key": e.media_key,
            "content_type": e.content_type, "format": e.format, "duration": e.duration,
            "title": default_title(e.filename), "artist": "", "album": "", "genre": "",
            "year": None,
            "cover_key": None, "thumbnail_key": None, "status": "processing",
            "failure_reason": None, "uploaded_by": e.actor_id,
            "created_at": e.timestamp, "updated_at": e.timestamp,
        }, tracking)

    @process_event.register
    def _track_metadata(self, e: Track.MetadataExtracted, tracking: Tracking) -> None:
        self.view.change("library_tracks", e.originator_id, {
            "title": e.title, "artist": e.artist, "album": e.album, "genre": e.genre,
            "year": e.year, "duration": e.duration, "cover_key": e.cover_key,
            "thumbnail_key": e.thumbnail_key, "status": "ready", "updated_at": e.timestamp,
        }, tracking)

    @process_event.register
    def _track_loudness(self, e: Track.LoudnessMeasured, tracking: Tracking) -> None:
        self.view.change("library_tracks", e.originator_id, _loudness(e), tracking)

    @process_event.register
    def _track_failed(self, e: Track.ExtractionFailed, tracking: Tracking) -> None:
        self.view.change("library_tracks", e.originator_id, {
            "status": "failed", "failure_reason": e.reason, "updated_at": e.timestamp,
        }, tracking)

    @process_event.register
    def _track_edited(self, e: Track.MetadataEdited, tracking: Tracking) -> None:
        self.view.change("library_tracks", e.originator_id,
                         {**e.changes, "updated_at": e.timestamp}, tracking)

    @process_event.register
    def _track_cover(self, e: Track.CoverSet, tracking: Tracking) -> None:
        self.view.change("library_tracks", e.originator_id, {
            "cover_key": e.cover_key, "thumbnail_key": e.thumbnail_key,
            "updated_at": e.timestamp}, tracking)

    @process_event.register
    def _track_moved(self, e: Track.Moved, tracking: Tracking) -> None:
        self.view.change("library_tracks", e.originator_id, {
            "folder_id": e.folder_id, "position": None, "updated_at": e.timestamp}, tracking)

    @process_event.register
    def _track_deleted(self, e: Track.Deleted, tracking: Tracking) -> None:
        self.view.remove("library_tracks", e.originator_id, tracking)

    # announcements
    @process_event.register
    def _ann_created(self, e: Announcement.Created, tracking: Tracking) -> None:
        media = e.media or {}
        self.view.put("library_announcements", {
            "id": e.originator_id, "client_id": e.client_id, "folder_id": e.folder_id,
            "position": None, "title": e.title, "source": e.source,
            "media_key": media.get("media_key"), "content_type": media.get("content_type"),
            "format": media.get("format"), "duration": media.get("duration"),
            "file_size": media.get("file_size"), "tts_text": e.tts_text,
            "tts_voice": e.tts_voice, "tts_language": e.tts_language,
            "status": "ready" if e.media else "processing", "failure_reason": None,
            "created_by": e.actor_id, "created_at": e.timestamp, "updated_at": e.timestamp,
        }, tracking)

    @process_event.register
    def _ann_speech(self, e: Announcement.SpeechGenerated, tracking: Tracking) -> None:
        media = e.media
        self.view.change("library_announcements", e.originator_id, {
            "media_key": media["media_key"], "content_type": media["content_type"],
            "format": media["format"], "duration": media["duration"],
            "file_size": media["file_size"], "status": "ready", "updated_at": e.timestamp,
        }, tracking)

    @process_event.register
    def _ann_loudness(self, e: Announcement.LoudnessMeasured, tracking: Tracking) -> None:
        self.view.change("library_announcements", e.originator_id, _loudness(e), tracking)

    @process_event.register
    def _ann_failed(self, e: Announcement.SpeechFailed, tracking: Tracking) -> None:
        self.view.change("library_announcements", e.originator_id, {
            "status": "failed", "failure_reason": e.reason, "updated_at": e.timestamp,
        }, tracking)

    @process_event.register
    def _ann_edited(self, e: Announcement.Edited, tracking: Tracking) -> None:
        changes = dict(e.changes)
        if "folder_id" in changes:
            changes["position"] = None
        self.view.change("library_announcements", e.originator_id,
                         {**changes, "updated_at": e.timestamp}, tracking)

    @process_event.register
    def _ann_deleted(self, e: Announcement.Deleted, tracking: Tracking) -> None:
        self.view.remove("library_announcements", e.originator_id, tracking)

    # storage
    @process_event.register
    def _quota_opened(self, e: StorageQuota.Opened, tracking: Tracking) -> None:
        self.view.put("library_storage", {
            "id": e.originator_id, "client_id": e.client_id, "used_bytes": 0}, tracking)

    @process_event.register
    def _reserved(self, e: StorageQuota.Reserved, tracking: Tracking) -> None:
        self.view.add_usage(e.originator_id, e.nbytes, tracking)

    @process_event.register
    def _released(self, e: StorageQuota.Released, tracking: Tracking) -> None:
        self.view.add_usage(e.originator_id, -e.nbytes, tracking)


def _loudness(e: Track.LoudnessMeasured | Announcement.LoudnessMeasured) -> Row:
    """The measured columns (`updated_at` stays: nothing a user sees of the item changed)."""
    return {"loudness_lufs": e.integrated_lufs, "true_peak_dbtp": e.true_peak_dbtp,
            "waveform_key": e.waveform_key}


# -- an aggregate in the shape of its row (a command's answer) -----------------------


def folder_row(folder: Folder) -> dict[str, Any]:
    return {"id": folder.id, "name": folder.name, "description": folder.description,
            "type": folder.type.value, "client_id": folder.client_id,
            "cover_key": folder.cover_key, "thumbnail_key": folder.thumbnail_key,
            "is_system": folder.is_system, "created_by": folder.created_by,
            "item_count": len(folder.items), "created_at": folder.created_on,
            "updated_at": folder.modified_on}


def track_row(track: Track) -> dict[str, Any]:
    return {
        "id": track.id, "title": track.title, "artist": track.artist, "album": track.album,
        "genre": track.genre, "year": track.year, "duration": track.duration,
        "filename": track.filename, "file_size": track.file_size, "format": track.format,
        "content_type": track.content_type, "media_key": track.media_key,
        "cover_key": track.cover_key, "thumbnail_key": track.thumbnail_key,
        "folder_id": track.folder_id, "position": None, "client_id": track.client_id,
        "status": track.status.value, "failure_reason": track.failure_reason,
        "created_at": track.created_on, "updated_at": track.modified_on,
        "loudness_lufs": track.loudness_lufs, "true_peak_dbtp": track.true_peak_dbtp,
        "waveform_key": track.waveform_key,
    }


def announcement_row(ann: Announcement) -> dict[str, Any]:
    media = ann.media
    return {
        "id": ann.id, "title": ann.title, "media_key": media.media_key if media else None,
        "content_type": media.content_type if media else None,
        "duration": media.duration if media else None,
        "file_size": media.file_size if media else None,
        "format": media.format if media else None, "source": ann.source,
        "tts_text": ann.tts_text, "tts_voice": ann.tts_voice, "tts_language": ann.tts_language,
        "folder_id": ann.folder_id, "client_id": ann.client_id, "status": ann.status.value,
        "failure_reason": ann.failure_reason, "created_at": ann.created_on,
        "updated_at": ann.modified_on, "loudness_lufs": ann.loudness_lufs,
        "true_peak_dbtp": ann.true_peak_dbtp, "waveform_key": ann.waveform_key,
    }
