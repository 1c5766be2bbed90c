"""Outside services the application layer needs, as Protocols."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import BinaryIO, Protocol
from uuid import UUID

from application.sessions import RefreshClaims
from domain.base import DomainError
from domain.playback import AnnouncementItem, QueueItem
from domain.sound import Loudness
from domain.user import User


class PasswordHasher(Protocol):
    def hash(self, password: str) -> str: ...

    def verify(self, password: str, password_hash: str) -> bool: ...


class Mailer(Protocol):
    def send(self, to: str, subject: str, body: str) -> None: ...


class BlobStorage(Protocol):
    """Where media files live (a local folder, or S3). Keys are `/`-separated paths."""

    def put(self, key: str, source: BinaryIO, content_type: str) -> None:
        """Store the whole stream under `key` (streamed, never read into memory at once)."""

    def put_bytes(self, key: str, data: bytes, content_type: str) -> None: ...

    def download_to(self, key: str, path: Path) -> None:
        """Copy the object to a local file (for workers that need a real file)."""

    def get_bytes(self, key: str) -> bytes:
        """A small object's content (FileNotFoundError when missing)."""

    def delete(self, key: str) -> None:
        """Remove the object; removing a missing key is not an error."""

    def exists(self, key: str) -> bool: ...

    def list_keys(self, prefix: str = "") -> Iterator[str]:
        """Every stored key starting with `prefix` (files being written excluded)."""

    def signed_url(
        self, key: str, *, expires_in: int, content_type: str | None = None
    ) -> str:
        """An expiring URL a device or browser can GET (supports HTTP Range)."""


@dataclass(frozen=True)
class AudioProbe:
    """What a quick look at a file's content tells: its real format and length."""

    format: str  # one of domain.library MUSIC_FORMATS / ANNOUNCEMENT_FORMATS
    content_type: str  # e.g. audio/mpeg
    duration: float  # seconds, > 0
    bitrate: int | None = None
    sample_rate: int | None = None
    channels: int | None = None


@dataclass(frozen=True)
class AudioTags:
    title: str | None
    artist: str | None
    album: str | None
    genre: str | None
    year: int | None
    duration: float
    cover: bytes | None = None  # embedded cover art, raw image bytes
    cover_mime: str | None = None


class AudioInspector(Protocol):
    def probe(self, path: Path, allowed: frozenset[str]) -> AudioProbe:
        """Identify the audio format by content. Raises UnsupportedMediaType when the
        content is not an allowed audio format, InvalidMedia when it is but cannot be
        read (truncated, zero length)."""

    def read_tags(self, path: Path) -> AudioTags:
        """Full metadata extraction. Raises InvalidMedia when unreadable."""


@dataclass(frozen=True)
class AudioAnalysis:
    """What decoding a whole file tells: its loudness and the picture of its waveform."""

    integrated_lufs: float | None  # None: silent (no block above BS.1770's -70 LUFS gate)
    true_peak_dbtp: float | None  # None: digital silence
    duration: float  # seconds decoded
    peaks: list[tuple[float, float]]  # (min, max) of equal spans, in [-1, 1]


class AudioAnalyzer(Protocol):
    def analyze(self, path: Path) -> AudioAnalysis:
        """Decode the file once and measure it. Raises InvalidMedia when undecodable."""


class LoudnessLookup(Protocol):
    """Measured loudness of tracks and announcements (the library read model)."""

    def loudness_of(self, ids: Collection[UUID]) -> dict[UUID, Loudness]:
        """The measured ones among `ids` (one query); silent files have -inf LUFS."""


@dataclass(frozen=True)
class ImageInfo:
    format: str  # jpeg, png, webp, gif
    content_type: str
    width: int
    height: int


class ImageProcessor(Protocol):
    def inspect(self, data: bytes) -> ImageInfo:
        """Validate image bytes. Raises UnsupportedMediaType / InvalidMedia."""

    def thumbnail(self, data: bytes, size: int) -> bytes:
        """A JPEG that fits in size×size, aspect ratio kept."""


class SpeechSynthesizer(Protocol):
    def synthesize(self, text: str, *, voice: str | None, language: str, out_dir: Path) -> Path:
        """Speak `text` into an audio file in `out_dir`; returns its path."""


class Catalog(Protocol):
    """The library as playback needs it: what a folder or announcement plays."""

    def queue_items(self, client_id: UUID, folder_ids: Sequence[UUID],
                    track_ids: Sequence[UUID]) -> list[QueueItem]:
        """Playable tracks of the folders (in order), then the tracks; another
        client's folder or track raises NotFound."""

    def check_folders(self, client_id: UUID, folder_ids: Sequence[UUID]) -> None:
        """NotFound unless every folder is the client's."""

    def announcement_item(self, client_id: UUID, announcement_id: UUID) -> AnnouncementItem:
        """The announcement, ready to play (NotFound, or AnnouncementNotReady)."""


class IncomingFile(Protocol):
    """A file received with a request (already spooled by the transport), not yet
    staged or stored: commands carry it, their handlers store it once authorized."""

    @property
    def filename(self) -> str | None: ...

    @property
    def file(self) -> BinaryIO: ...


class Tokens(Protocol):
    """Mints the tokens a login, a refresh or a device's pairing answers with."""

    def pair(self, user: User, session_id: UUID, token_id: str) -> dict[str, str]:
        """`{"access", "refresh"}` of a session."""

    def refresh(self, token: str) -> RefreshClaims:
        """A refresh token's claims (InvalidToken when it is not one)."""

    def device(self, device_id: UUID, zone_id: UUID, client_id: UUID, token_id: str) -> str: ...


class RateLimited(DomainError):
    def __init__(self, detail: str, retry_after: int) -> None:
        super().__init__(detail)
        self.retry_after = retry_after


class RateLimits(Protocol):
    def hit(self, name: str, *key: str) -> None:
        """Count one attempt at limit `name` for `key`; RateLimited once over it."""


class Presence(Protocol):
    """Which devices are online now: heartbeats refresh a short-lived mark."""

    def clock(self) -> datetime: ...

    def heartbeat(self, device_id: UUID, at: datetime | None = None) -> bool:
        """Refresh the device's presence; True if it was not online until now."""

    def forget(self, device_id: UUID) -> None:
        """Drop the mark, so that the next heartbeat counts as coming online again."""

    def is_online(self, device_id: UUID) -> bool: ...

    def online(self, device_ids: Iterable[UUID]) -> set[UUID]: ...

    def last_seen(self, device_ids: Iterable[UUID]) -> dict[UUID, datetime | None]: ...


class LocalFiles(Protocol):
    """Media kept in a local folder, served behind our own signed URLs."""

    def verify(self, key: str, exp: int, sig: str, ct: str | None = None) -> bool:
        """Whether `sig` signs this key, expiry and content type, and `exp` is to come."""

    def path_of(self, key: str) -> Path:
        """Where the key's file is (ValueError: not a valid key)."""
