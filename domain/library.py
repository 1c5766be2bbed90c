"""Rules shared by the library aggregates (tracks, folders, announcements)."""

from __future__ import annotations

from enum import StrEnum

from domain.base import DomainError


class FolderType(StrEnum):
    MUSIC = "music"
    ANNOUNCEMENT = "announcement"


class MediaStatus(StrEnum):
    PROCESSING = "processing"  # stored; metadata or speech still being made
    READY = "ready"
    FAILED = "failed"


# Audio formats we accept, by content (never by file name).
MUSIC_FORMATS = frozenset({"mp3", "m4a", "aac", "ogg", "opus", "flac", "wav"})
ANNOUNCEMENT_FORMATS = frozenset({"mp3", "wav", "m4a", "aac", "ogg", "opus", "webm"})
IMAGE_FORMATS = frozenset({"jpeg", "png", "webp", "gif"})


class LibraryError(DomainError):
    """Base of the library context's broken rules."""


class UnsupportedMediaType(LibraryError):
    """The content is not one of the accepted audio/image formats (415)."""


class InvalidMedia(LibraryError):
    """The content claims an accepted format but cannot be read (422)."""


class MediaTooLarge(LibraryError):
    """One upload is over the size limit (413)."""


class StorageQuotaExceeded(LibraryError):
    """The client's storage quota would be exceeded (413)."""


class DuplicateMedia(LibraryError):
    """The same content (same hash) is already in this client's library (409)."""

    def __init__(self, detail: str, existing_id: str) -> None:
        super().__init__(detail)
        self.existing_id = existing_id


class FolderTypeMismatch(LibraryError):
    pass


class InvalidOrder(LibraryError):
    """A reorder must name exactly the folder's current tracks."""


class TrackDeleted(LibraryError):
    pass


class SystemFolderProtected(LibraryError):
    """A system folder cannot be deleted by the client's own users (403)."""
