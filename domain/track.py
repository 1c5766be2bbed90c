"""The Track aggregate: one uploaded music file and its metadata."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from eventsourcing.domain import event

from domain.base import EnumAttribute, TracedAggregate
from domain.library import InvalidMedia, MediaStatus, TrackDeleted
from domain.lifecycle import Deletable

EDITABLE = ("title", "artist", "album", "genre", "year")


class Track(Deletable, TracedAggregate):
    # 2: the measured loudness and the waveform (domain/sound.py)
    class_version = 2
    status = EnumAttribute(MediaStatus)
    deleted_error = TrackDeleted  # domain/lifecycle.py
    deleted_message = "{name} {id} has been deleted"

    @staticmethod
    def upcast_v1_v2(state: dict[str, Any]) -> None:
        state["loudness_lufs"] = state["true_peak_dbtp"] = state["waveform_key"] = None

    class Uploaded(TracedAggregate.Created):
        client_id: UUID
        folder_id: UUID | None
        filename: str
        file_size: int
        content_hash: str
        media_key: str
        content_type: str
        format: str
        duration: float

    @event(Uploaded)
    def __init__(
        self, client_id: UUID, folder_id: UUID | None, filename: str, file_size: int,
        content_hash: str, media_key: str, content_type: str, format: str, duration: float,
    ) -> None:
        self.client_id = client_id
        self.folder_id = folder_id
        self.filename = filename
        self.file_size = file_size
        self.content_hash = content_hash
        self.media_key = media_key
        self.content_type = content_type
        self.format = format
        self.duration = duration
        self.title = default_title(filename)
        self.artist = self.album = self.genre = ""
        self.year: int | None = None
        self.cover_key: str | None = None
        self.thumbnail_key: str | None = None
        self.status = MediaStatus.PROCESSING
        self.failure_reason: str | None = None
        self.is_deleted = False
        # What a user set by hand wins over tags read later in the background.
        self.user_edited: list[str] = []
        self.cover_by_user = False
        self.loudness_lufs: float | None = None  # None until measured (or when silent)
        self.true_peak_dbtp: float | None = None
        self.waveform_key: str | None = None  # set once measured

    @classmethod
    def upload(
        cls, *, id: UUID, client_id: UUID, folder_id: UUID | None, filename: str,  # noqa: A002
        file_size: int, content_hash: str, media_key: str, content_type: str, format: str,
        duration: float,
    ) -> Track:
        if duration <= 0 or file_size <= 0:
            raise InvalidMedia(f"{filename}: the audio has no length")
        track: Track = cls._create(
            cls.Uploaded, id=id, client_id=client_id, folder_id=folder_id,
            filename=filename, file_size=file_size, content_hash=content_hash,
            media_key=media_key, content_type=content_type, format=format,
            duration=duration,
        )
        return track

    @property
    def is_playable(self) -> bool:
        return not self.is_deleted and self.status is not MediaStatus.FAILED

    class MetadataExtracted(TracedAggregate.Event):
        title: str
        artist: str
        album: str
        genre: str
        year: int | None
        duration: float
        cover_key: str | None
        thumbnail_key: str | None

    def record_metadata(
        self, *, title: str | None, artist: str | None, album: str | None, genre: str | None,
        year: int | None, duration: float, cover_key: str | None, thumbnail_key: str | None,
    ) -> bool:
        """Apply extracted tags once; a repeated extraction (a retried task) is a no-op."""
        self._check_alive()
        if self.status is not MediaStatus.PROCESSING:
            return False
        read: dict[str, Any] = {
            "title": (title or "").strip() or self.title, "artist": (artist or "").strip(),
            "album": (album or "").strip(), "genre": (genre or "").strip(), "year": year,
        }
        kept = {k: getattr(self, k) for k in self.user_edited}  # a user's edit wins
        if self.cover_by_user or not cover_key:
            cover_key, thumbnail_key = self.cover_key, self.thumbnail_key
        self._metadata_extracted(
            **{**read, **kept}, duration=duration if duration > 0 else self.duration,
            cover_key=cover_key, thumbnail_key=thumbnail_key,
        )
        return True

    @event(MetadataExtracted)
    def _metadata_extracted(
        self, title: str, artist: str, album: str, genre: str, year: int | None,
        duration: float, cover_key: str | None, thumbnail_key: str | None,
    ) -> None:
        self.title, self.artist, self.album, self.genre = title, artist, album, genre
        self.year, self.duration = year, duration
        self.cover_key, self.thumbnail_key = cover_key, thumbnail_key
        self.status = MediaStatus.READY

    class ExtractionFailed(TracedAggregate.Event):
        reason: str

    def record_failure(self, reason: str) -> bool:
        self._check_alive()
        if self.status is not MediaStatus.PROCESSING:
            return False
        self._extraction_failed(reason=reason)
        return True

    @event(ExtractionFailed)
    def _extraction_failed(self, reason: str) -> None:
        self.status, self.failure_reason = MediaStatus.FAILED, reason

    class LoudnessMeasured(TracedAggregate.Event):
        integrated_lufs: float | None  # None: silent
        true_peak_dbtp: float | None
        waveform_key: str

    def record_loudness(self, integrated_lufs: float | None, true_peak_dbtp: float | None,
                        waveform_key: str) -> bool:
        """Record the measurement once; a repeated one (a retried job) is a no-op."""
        self._check_alive()
        if self.waveform_key is not None:
            return False
        self._loudness_measured(integrated_lufs=integrated_lufs,
                                true_peak_dbtp=true_peak_dbtp, waveform_key=waveform_key)
        return True

    @event(LoudnessMeasured)
    def _loudness_measured(self, integrated_lufs: float | None, true_peak_dbtp: float | None,
                           waveform_key: str) -> None:
        self.loudness_lufs, self.true_peak_dbtp = integrated_lufs, true_peak_dbtp
        self.waveform_key = waveform_key

    class MetadataEdited(TracedAggregate.Event):
        changes: dict[str, Any]

    def edit(self, **changes: Any) -> None:
        self._check_alive()
        unknown = set(changes) - set(EDITABLE)
        if unknown:
            raise InvalidMedia(f"these fields cannot be edited: {sorted(unknown)}")
        changed = self._differing(changes)
        if changed:
            self._edited(changes=changed)

    @event(MetadataEdited)
    def _edited(self, changes: dict[str, Any]) -> None:
        self._assign(changes)
        self.user_edited += [key for key in changes if key not in self.user_edited]

    class CoverSet(TracedAggregate.Event):
        cover_key: str
        thumbnail_key: str

    def set_cover(self, cover_key: str, thumbnail_key: str) -> None:
        self._check_alive()
        self._cover_set(cover_key=cover_key, thumbnail_key=thumbnail_key)

    @event(CoverSet)
    def _cover_set(self, cover_key: str, thumbnail_key: str) -> None:
        self.cover_key, self.thumbnail_key = cover_key, thumbnail_key
        self.cover_by_user = True

    class Moved(TracedAggregate.Event):
        folder_id: UUID | None

    def move_to(self, folder_id: UUID | None) -> None:
        self._check_alive()
        if folder_id != self.folder_id:
            self._moved(folder_id=folder_id)

    @event(Moved)
    def _moved(self, folder_id: UUID | None) -> None:
        self.folder_id = folder_id

    class Deleted(TracedAggregate.Event):
        pass

    _deleted = event(Deleted)(Deletable._deleted)  # delete() (domain/lifecycle.py)


def default_title(filename: str) -> str:
    """A track's title before its tags are read: the file name without extension."""
    name = filename.rsplit("/", 1)[-1]
    stem = name.rsplit(".", 1)[0] if "." in name else name
    return stem.strip() or "Untitled"
