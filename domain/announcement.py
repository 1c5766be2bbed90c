"""The Announcement aggregate: an uploaded, recorded or synthesised message."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any
from uuid import UUID

from eventsourcing.domain import event

from domain.base import EnumAttribute, TracedAggregate
from domain.library import InvalidMedia, LibraryError, MediaStatus
from domain.lifecycle import Deletable


@dataclass(frozen=True)
class Media:
    """A stored audio file, as the playback side needs it."""

    media_key: str
    content_type: str
    format: str
    duration: float
    file_size: int
    content_hash: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class Announcement(Deletable, TracedAggregate):
    # 2: the measured loudness and the waveform (domain/sound.py)
    class_version = 2
    status = EnumAttribute(MediaStatus)

    @staticmethod
    def upcast_v1_v2(state: dict[str, Any]) -> None:
        state["loudness_lufs"] = state["true_peak_dbtp"] = state["waveform_key"] = None

    class Created(TracedAggregate.Created):
        client_id: UUID
        title: str
        folder_id: UUID | None
        source: str  # upload | recording | tts
        media: dict[str, Any] | None
        tts_text: str
        tts_voice: str
        tts_language: str

    @event(Created)
    def __init__(
        self, client_id: UUID, title: str, folder_id: UUID | None, source: str,
        media: dict[str, Any] | None, tts_text: str, tts_voice: str, tts_language: str,
    ) -> None:
        self.client_id = client_id
        self.title = title
        self.folder_id = folder_id
        self.source = source
        self.media = Media(**media) if media else None
        self.tts_text, self.tts_voice, self.tts_language = tts_text, tts_voice, tts_language
        self.status = MediaStatus.READY if media else MediaStatus.PROCESSING
        self.failure_reason: str | None = None
        self.is_deleted = False
        self.loudness_lufs: float | None = None  # None until measured (or when silent)
        self.true_peak_dbtp: float | None = None
        self.waveform_key: str | None = None  # set once measured

    @classmethod
    def upload(
        cls, *, id: UUID, client_id: UUID, title: str, folder_id: UUID | None,  # noqa: A002
        media: Media, is_recording: bool,
    ) -> Announcement:
        if media.duration <= 0:
            raise InvalidMedia("the announcement audio has no length")
        announcement: Announcement = cls._create(
            cls.Created, id=id, client_id=client_id, title=_title(title), folder_id=folder_id,
            source="recording" if is_recording else "upload", media=media.as_dict(),
            tts_text="", tts_voice="", tts_language="",
        )
        return announcement

    @classmethod
    def request_speech(
        cls, *, client_id: UUID, title: str, folder_id: UUID | None, text: str,
        voice: str, language: str,
    ) -> Announcement:
        if not text.strip():
            raise LibraryError("the text to speak is empty")
        announcement: Announcement = cls._create(
            cls.Created, client_id=client_id, title=_title(title or text[:60]),
            folder_id=folder_id, source="tts", media=None, tts_text=text.strip(),
            tts_voice=voice, tts_language=language,
        )
        return announcement

    @property
    def is_tts(self) -> bool:
        return self.source == "tts"

    @property
    def is_playable(self) -> bool:
        return not self.is_deleted and self.status is MediaStatus.READY

    class SpeechGenerated(TracedAggregate.Event):
        media: dict[str, Any]

    def record_speech(self, media: Media) -> bool:
        """Attach the synthesised audio once; a retried task's repeat is a no-op."""
        self._check_alive()
        if self.status is not MediaStatus.PROCESSING:
            return False
        self._speech_generated(media=media.as_dict())
        return True

    @event(SpeechGenerated)
    def _speech_generated(self, media: dict[str, Any]) -> None:
        self.media, self.status = Media(**media), MediaStatus.READY

    class SpeechFailed(TracedAggregate.Event):
        reason: str

    def record_failure(self, reason: str) -> bool:
        self._check_alive()
        if self.status is not MediaStatus.PROCESSING:
            return False
        self._speech_failed(reason=reason)
        return True

    @event(SpeechFailed)
    def _speech_failed(self, reason: str) -> None:
        self.status, self.failure_reason = MediaStatus.FAILED, reason

    class LoudnessMeasured(TracedAggregate.Event):
        integrated_lufs: float | None  # None: silent
        true_peak_dbtp: float | None
        waveform_key: str

    def record_loudness(self, integrated_lufs: float | None, true_peak_dbtp: float | None,
                        waveform_key: str) -> bool:
        """Record the measurement once; a repeated one (a retried job) is a no-op."""
        self._check_alive()
        if self.waveform_key is not None or self.media is None:
            return False
        self._loudness_measured(integrated_lufs=integrated_lufs,
                                true_peak_dbtp=true_peak_dbtp, waveform_key=waveform_key)
        return True

    @event(LoudnessMeasured)
    def _loudness_measured(self, integrated_lufs: float | None, true_peak_dbtp: float | None,
                           waveform_key: str) -> None:
        self.loudness_lufs, self.true_peak_dbtp = integrated_lufs, true_peak_dbtp
        self.waveform_key = waveform_key

    class Edited(TracedAggregate.Event):
        changes: dict[str, Any]

    def edit(self, **changes: Any) -> None:
        self._check_alive()
        unknown = set(changes) - {"title", "folder_id"}
        if unknown:
            raise LibraryError(f"these fields cannot be edited: {sorted(unknown)}")
        if "title" in changes:
            changes["title"] = _title(changes["title"])
        changed = self._differing(changes)
        if changed:
            self._edited(changes=changed)

    @event(Edited)
    def _edited(self, changes: dict[str, Any]) -> None:
        self._assign(changes)

    class Deleted(TracedAggregate.Event):
        pass

    _deleted = event(Deleted)(Deletable._deleted)  # delete() (domain/lifecycle.py)


def _title(title: str) -> str:
    title = title.strip()
    if not title:
        raise LibraryError("an announcement needs a title")
    return title[:255]
