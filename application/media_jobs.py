"""Background media work: reading tags and cover art, speaking announcements.

Each job is idempotent: it looks at the aggregate first and does nothing when
the work is already recorded, and it writes blobs under deterministic keys,
so a retried or repeated job completes exactly once.
"""

from __future__ import annotations

import hashlib
import logging
import tempfile
from collections.abc import Callable
from pathlib import Path
from uuid import UUID

from application.library import LibraryApplication
from application.ports import AudioInspector, BlobStorage, ImageProcessor, SpeechSynthesizer
from domain.announcement import Media
from domain.base import Actor, CommandContext, NotFound
from domain.library import ANNOUNCEMENT_FORMATS, LibraryError, MediaStatus

log = logging.getLogger(__name__)

THUMBNAIL_SIZE = 300


def cover_keys(client_id: UUID, owner_id: UUID, ext: str) -> tuple[str, str]:
    base = f"clients/{client_id}/covers/{owner_id}"
    return f"{base}.{ext}", f"{base}-thumb.jpg"


class MediaProcessor:
    def __init__(
        self, library: LibraryApplication, storage: BlobStorage, inspector: AudioInspector,
        images: ImageProcessor, synthesizer: SpeechSynthesizer,
        storage_limit: Callable[[UUID], int],
    ) -> None:
        self.library = library
        self.storage = storage
        self.inspector = inspector
        self.images = images
        self.synthesizer = synthesizer
        self.storage_limit = storage_limit

    def _ctx(self, job: str, item_id: UUID) -> CommandContext:
        return CommandContext(Actor.system(f"worker:{job}"), f"{job}:{item_id}")

    def extract_track(self, track_id: UUID) -> None:
        try:
            track = self.library.get_track(track_id)
        except NotFound:  # deleted meanwhile: nothing to do
            return
        if track.status is not MediaStatus.PROCESSING:
            return
        ctx = self._ctx("extract_metadata", track_id)
        with tempfile.TemporaryDirectory(prefix="s2g-track-") as tmp:
            path = Path(tmp) / f"audio.{track.format}"
            self.storage.download_to(track.media_key, path)
            try:
                tags = self.inspector.read_tags(path)
            except LibraryError as e:
                self.library.record_track_failure(ctx, track_id, e.detail)
                return
        cover_key = thumbnail_key = None
        if tags.cover:
            try:
                cover_key, thumbnail_key = self.store_cover(track.client_id, track_id,
                                                             tags.cover)
            except LibraryError as e:  # a broken embedded picture does not fail the track
                log.info("track %s: embedded cover art ignored: %s", track_id, e.detail)
        self.library.record_track_metadata(
            ctx, track_id, title=tags.title, artist=tags.artist, album=tags.album,
            genre=tags.genre, year=tags.year, duration=tags.duration,
            cover_key=cover_key, thumbnail_key=thumbnail_key,
        )

    def store_cover(self, client_id: UUID, owner_id: UUID, data: bytes) -> tuple[str, str]:
        """Validate an image and store it with its thumbnail; returns both keys."""
        info = self.images.inspect(data)
        cover_key, thumbnail_key = cover_keys(client_id, owner_id, info.format)
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
