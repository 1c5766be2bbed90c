"""The library as playback needs it (the `Catalog` port): folders and tracks from
the library read model, announcements from the library's event store."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import UUID

from application.library import LibraryApplication
from domain.base import NotFound
from domain.library import MediaStatus
from domain.playback import AnnouncementItem, AnnouncementNotReady, QueueItem
from projections.library import LibraryView

MAX_FOLDER_TRACKS = 10_000


class LibraryCatalog:
    def __init__(self, library: LibraryApplication, view: LibraryView) -> None:
        self._library, self._view = library, view

    def queue_items(self, client_id: UUID, folder_ids: Sequence[UUID],
                    track_ids: Sequence[UUID]) -> list[QueueItem]:
        rows: list[dict[str, Any]] = []
        self.check_folders(client_id, folder_ids)
        for folder_id in folder_ids:
            rows += self._view.list_tracks(client_id=client_id, folder_id=folder_id,
                                           offset=0, limit=MAX_FOLDER_TRACKS).rows
        rows += [self._owned("library_tracks", t, client_id, "track") for t in track_ids]
        return [
            QueueItem(item_id=r["id"], duration_ms=int(round(r["duration"] * 1000)),
                      media_key=r["media_key"], content_type=r["content_type"],
                      title=r["title"], artist=r["artist"], cover_key=r["thumbnail_key"])
            for r in rows if r["status"] != MediaStatus.FAILED.value
        ]

    def check_folders(self, client_id: UUID, folder_ids: Sequence[UUID]) -> None:
        for folder_id in folder_ids:
            self._owned("library_folders", folder_id, client_id, "folder")

    def announcement_item(self, client_id: UUID, announcement_id: UUID) -> AnnouncementItem:
        ann = self._library.get_announcement(announcement_id, client_id)
        if not ann.is_playable or ann.media is None:
            raise AnnouncementNotReady(
                f"announcement {ann.title!r} is {ann.status.value}, not ready")
        return AnnouncementItem(
            announcement_id=ann.id, duration_ms=int(round(ann.media.duration * 1000)),
            media_key=ann.media.media_key, content_type=ann.media.content_type,
            title=ann.title)

    def _owned(self, table: str, row_id: UUID, client_id: UUID, what: str) -> dict[str, Any]:
        row = self._view.get(table, row_id)
        if row is None or row["client_id"] != client_id:
            raise NotFound(f"{what} {row_id} not found")
        return row
