"""Background media work: reading tags and cover art, speaking announcements.

Each job is idempotent: it looks at the aggregate first and does nothing when
the work is already recorded, and it writes blobs under deterministic keys,
so a retried or repeated job completes exactly once.
"""

from __future__ import annotations

import hashlib
import json
import logging
import tempfile
from collections.abc import Callable
from pathlib import Path
from uuid import UUID

from application.library import LibraryApplication
from application.ports import (
    AudioAnalyzer,
    AudioInspector,
    BlobStorage,
    ImageProcessor,
    SpeechSynthesizer,
)
from domain.announcement import Media
from domain.base import Actor, CommandContext, NotFound
from domain.library import ANNOUNCEMENT_FORMATS, LibraryError, MediaStatus

log = logging.getLogger(__name__)

THUMBNAIL_SIZE = 300


def cover_keys(client_id: UUID, owner_id: UUID, ext: str) -> tuple[str, str]:
    base = f"clients/{client_id}/covers/{owner_id}"
    return f"{base}.{ext}", f"{base}-thumb.jpg"


def waveform_key(client_id: UUID, owner_id: UUID) -> str:
    return f"clients/{client_id}/waveforms/{owner_id}.json"


class MediaProcessor:
    def __init__(
        self, library: LibraryApplication, storage: BlobStorage, inspector: AudioInspector,
        images: ImageProcessor, synthesizer: SpeechSynthesizer,
        storage_limit: Callable[[UUID], int], analyzer: AudioAnalyzer,
    ) -> None:
        self.library = library
        self.storage = storage
        self.inspector = inspector
        self.images = images
        self.synthesizer = synthesizer
        self.storage_limit = storage_limit
        self.analyzer = analyzer

    def _ctx(self, job: str, item_id: UUID) -> CommandContext:
        return CommandContext(Actor.system(f"worker:{job}"), f"{job}:{item_id}")

    def extract_track(self, track_id: UUID) -> None:
        """Read the tags, then measure the loudness, of one downloaded copy; each step
        is skipped when already recorded (a retried job finishes what is left)."""
        try:
            track = self.library.get_track(track_id)
        except NotFound:  # deleted meanwhile: nothing to do
            return
        tag = track.status is MediaStatus.PROCESSING
        if not tag and (track.waveform_key is not None or track.status is MediaStatus.FAILED):
            return
        with tempfile.TemporaryDirectory(prefix="s2g-track-") as tmp:
            path = Path(tmp) / f"audio.{track.format}"
            self.storage.download_to(track.media_key, path)
            if tag and not self._read_tags(track.client_id, track_id, path):
                return
            if track.waveform_key is None:
                self._measure(track.client_id, track_id, path, self.library.record_loudness)

    def measure_announcement(self, ann_id: UUID) -> None:
        """Measure an announcement's audio (uploaded, or spoken) once."""
        try:
            ann = self.library.get_announcement(ann_id)
        except NotFound:
            return
        if ann.media is None or ann.waveform_key is not None:
            return
        with tempfile.TemporaryDirectory(prefix="s2g-ann-") as tmp:
            path = Path(tmp) / f"audio.{ann.media.format}"
            self.storage.download_to(ann.media.media_key, path)
            self._measure(ann.client_id, ann_id, path, self.library.record_loudness)

    def _measure(self, client_id: UUID, item_id: UUID, path: Path,
                 record: Callable[..., int | None]) -> None:
        """Loudness and waveform; the waveform's blob first, under a fixed key, so a
        crash between the two leaves nothing a retry does not overwrite."""
        try:
            found = self.analyzer.analyze(path)
        except LibraryError as e:  # tags may be readable when the audio is not
            log.warning("%s: loudness not measured: %s", item_id, e.detail)
            return
        key = waveform_key(client_id, item_id)
        body = {"peaks": [list(p) for p in found.peaks], "duration": round(found.duration, 3)}
        self.storage.put_bytes(key, json.dumps(body, separators=(",", ":")).encode(),
                               "application/json")
        record(self._ctx("measure_loudness", item_id), item_id,
               integrated_lufs=found.integrated_lufs, true_peak_dbtp=found.true_peak_dbtp,
               waveform_key=key)

    def _read_tags(self, client_id: UUID, track_id: UUID, path: Path) -> bool:
        """Record the track's tags (or its failure); False when it failed."""
        ctx = self._ctx("extract_metadata", track_id)
        try:
            tags = self.inspector.read_tags(path)
        except LibraryError as e:
            self.library.record_track_failure(ctx, track_id, e.detail)
            return False
        cover_key = thumbnail_key = None
        if tags.cover:
            try:
                cover_key, thumbnail_key = self.store_cover(client_id, track_id, tags.cover)
            except LibraryError as e:  # a broken embedded picture does not fail the track
                log.info("track %s: embedded cover art ignored: %s", track_id, e.detail)
        self.library.record_track_metadata(
            ctx, track_id, title=tags.title, artist=tags.artist, album=tags.album,
            genre=tags.genre, year=tags.year, duration=tags.duration,
            cover_key=cover_key, thumbnail_key=thumbnail_key,
        )
        return True

    def store_cover(self, client_id: UUID, owner_id: UUID, data: bytes) -> tuple[str, str]:
        """Validate an image and store it with its thumbnail; returns both keys."""
        return self.store_image(data, lambda ext: cover_keys(client_id, owner_id, ext))

    def store_image(self, data: bytes,
                    keys: Callable[[str], tuple[str, str]]) -> tuple[str, str]:
        """Validate an image and store it with its thumbnail under `keys(extension)`."""
        info = self.images.inspect(data)
        cover_key, thumbnail_key = keys(info.format)
        self.storage.put_bytes(cover_key, data, info.content_type)
        self.storage.put_bytes(thumbnail_key, self.images.thumbnail(data, THUMBNAIL_SIZE),
                               "image/jpeg")
        return cover_key, thumbnail_key

    def synthesize(self, ann_id: UUID) -> None:
        try:
            ann = self.library.get_announcement(ann_id)
        except NotFound:
            return
        if ann.status is not MediaStatus.PROCESSING:
            return
        ctx = self._ctx("synthesize", ann_id)
        with tempfile.TemporaryDirectory(prefix="s2g-tts-") as tmp:
            try:
                path = self.synthesizer.synthesize(
                    ann.tts_text, voice=ann.tts_voice or None, language=ann.tts_language,
                    out_dir=Path(tmp),
                )
                probe = self.inspector.probe(path, ANNOUNCEMENT_FORMATS)
            except LibraryError as e:
                self.library.record_speech_failure(ctx, ann_id, e.detail)
                return
            data = path.read_bytes()
            key = f"clients/{ann.client_id}/announcements/{ann_id}.{probe.format}"
            self.storage.put_bytes(key, data, probe.content_type)
        media = Media(media_key=key, content_type=probe.content_type, format=probe.format,
                      duration=probe.duration, file_size=len(data),
                      content_hash=hashlib.sha256(data).hexdigest())
        try:
            self.library.record_speech(ctx, ann_id, media, self.storage_limit(ann.client_id))
        except LibraryError as e:
            self.storage.delete(key)
            self.library.record_speech_failure(ctx, ann_id, e.detail)
