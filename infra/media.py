"""Audio inspection: mutagen and PyAV for sound (pictures: infra/images.py).

Formats are decided by content only. Files are handed to mutagen as nameless file
objects so a misleading extension cannot sway its guess, and every library error
becomes the domain's UnsupportedMediaType (not audio, or not allowed here) or
InvalidMedia (the right kind of file, but unreadable).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, BinaryIO, cast

import av
import mutagen
from mutagen.aac import AAC
from mutagen.easymp4 import EasyMP4
from mutagen.flac import FLAC
from mutagen.id3 import ID3
from mutagen.mp3 import MP3, EasyMP3, HeaderNotFoundError
from mutagen.mp4 import MP4
from mutagen.oggopus import OggOpus
from mutagen.oggvorbis import OggVorbis
from mutagen.wave import WAVE

from application.ports import AudioProbe, AudioTags
from domain.library import InvalidMedia, LibraryError, UnsupportedMediaType
from infra.images import PillowImages as PillowImages  # re-exported (its tests import it here)
from infra.images import cover_of, describe_error

# (mutagen class, our format name, content type); subclasses (EasyMP3) match too.
_MUTAGEN_KINDS: list[tuple[type[Any], str, str]] = [
    (MP3, "mp3", "audio/mpeg"),
    (MP4, "m4a", "audio/mp4"),
    (AAC, "aac", "audio/aac"),
    (OggVorbis, "ogg", "audio/ogg"),
    (OggOpus, "opus", "audio/ogg"),
    (FLAC, "flac", "audio/flac"),
    (WAVE, "wav", "audio/wav"),
]
_PLAIN_OPTIONS = [kind for kind, _, _ in _MUTAGEN_KINDS]
_EASY_OPTIONS = [EasyMP3, EasyMP4, AAC, OggVorbis, OggOpus, FLAC, WAVE]

_EBML_MAGIC = b"\x1a\x45\xdf\xa3"  # WebM / Matroska
_NOT_AUDIO: list[tuple[bytes, int, str]] = [  # (magic, offset, what it is)
    (b"\x89PNG\r\n\x1a\n", 0, "a PNG image"),
    (b"\xff\xd8\xff", 0, "a JPEG image"),
    (b"GIF8", 0, "a GIF image"),
    (b"WEBP", 8, "a WebP image"),
    (b"ftypheic", 4, "a HEIC image"),
    (b"ftypavif", 4, "an AVIF image"),
    (b"%PDF", 0, "a PDF document"),
    (b"PK\x03\x04", 0, "a ZIP archive (or an office document)"),
    (b"AVI ", 8, "an AVI video"),
]
_MPEG_RATES = range(8000, 48001)


class MutagenInspector:
    """AudioInspector: mutagen for the usual formats, PyAV for WebM recordings."""

    def probe(self, path: Path, allowed: frozenset[str]) -> AudioProbe:
        head = _head(path)
        found = _probe_webm(path) if head.startswith(_EBML_MAGIC) else _probe_mutagen(path)
        if found.format not in allowed:
            raise UnsupportedMediaType(
                f"the file is {found.format} audio, which is not accepted here "
                f"(accepted: {', '.join(sorted(allowed))})"
            )
        if found.duration <= 0:
            raise InvalidMedia(f"the {found.format} file has no audio (zero duration)")
        return found

    def read_tags(self, path: Path) -> AudioTags:
        try:
            head = _head(path)
            if head.startswith(_EBML_MAGIC):
                duration = _probe_webm(path).duration
                return AudioTags(None, None, None, None, None, duration)
            easy = _load(path, easy=True)
            full = _load(path, easy=False)
        except UnsupportedMediaType as e:
            raise InvalidMedia(str(e)) from e
        # WAV's ID3 tag has no easy wrapper; everything else comes out with easy keys.
        text = _id3_text(easy.tags) if isinstance(easy.tags, ID3) else _easy_text(easy.tags)
        cover, cover_mime = cover_of(full)
        return AudioTags(
            title=text.get("title"),
            artist=text.get("artist"),
            album=text.get("album"),
            genre=text.get("genre"),
            year=_year(text.get("date")),
            duration=float(full.info.length),
            cover=cover,
            cover_mime=cover_mime,
        )


def _head(path: Path) -> bytes:
    with path.open("rb") as fh:
        head = fh.read(64)
    if not head:
        raise InvalidMedia("the file is empty")
    for magic, offset, what in _NOT_AUDIO:
        if head[offset : offset + len(magic)] == magic:
            raise UnsupportedMediaType(f"the file is {what}, not audio")
    return head


@contextmanager
def _nameless(path: Path) -> Iterator[BinaryIO]:
    """The file opened by descriptor: its `name` is a number, so no extension leaks."""
    with path.open("rb") as named, open(named.fileno(), "rb", closefd=False) as fh:
        yield fh


def _load(path: Path, *, easy: bool) -> Any:
    """The mutagen object for the file's content; raises the domain errors."""
    with _nameless(path) as fh:
        try:
            found: Any = _detect(fh, easy)
        except HeaderNotFoundError as e:
            raise InvalidMedia("the file starts like an MP3 but has no MPEG audio frames") from e
        except Exception as e:  # mutagen raises many kinds on damaged input
            raise InvalidMedia(f"the file is damaged or truncated{describe_error(e)}") from e
    if found is None:
        raise UnsupportedMediaType("the file is not a recognised audio format")
    # mutagen can mistake noise for MPEG frames; real MP3 has a standard sample rate
    if isinstance(found, MP3) and _positive(found.info, "sample_rate") not in _MPEG_RATES:
        raise UnsupportedMediaType("the file is not a recognised audio format")
    if isinstance(found, MP4) and not getattr(found.info, "codec", None):
        raise UnsupportedMediaType("the file is an MP4 video without sound, not audio")
    if isinstance(found, WAVE):
        _check_wav_size(found, path.stat().st_size)
    return found


def _detect(fh: BinaryIO, easy: bool) -> Any:
    """mutagen's guess among our formats, plus raw ADTS AAC which it only finds by name."""
    try:
        found = mutagen.File(fh, options=_EASY_OPTIONS if easy else _PLAIN_OPTIONS)
    except HeaderNotFoundError:
        if not _is_adts(fh):  # an ID3 tag in front of AAC frames looks like MP3 at first
            raise
        found = None
    if found is None and _is_adts(fh):
        fh.seek(0)
        found = cast(Any, AAC)(fh)  # mutagen's constructors are untyped
    return found


def _is_adts(fh: BinaryIO) -> bool:
    """Does the audio (after any ID3v2 tag) start with an AAC ADTS frame header?"""
    fh.seek(0)
    head = fh.read(10)
    if head.startswith(b"ID3") and len(head) == 10:
        size = (head[6] << 21) | (head[7] << 14) | (head[8] << 7) | head[9]
        fh.seek(10 + size + (10 if head[5] & 0x10 else 0))
        head = fh.read(2)
    fh.seek(0)
    return len(head) >= 2 and head[0] == 0xFF and (head[1] & 0xF6) == 0xF0


def _check_wav_size(found: Any, size: int) -> None:
    """A WAV header states its data size; a cut-off file has less than it claims."""
    claimed = found.info.length * found.info.bitrate / 8
    if found.info.bitrate and size < 0.9 * claimed:
        raise InvalidMedia("the WAV file is shorter than its header says (truncated)")


def _probe_mutagen(path: Path) -> AudioProbe:
    found = _load(path, easy=False)
    for kind, name, content_type in _MUTAGEN_KINDS:
        if isinstance(found, kind):
            info = found.info
            return AudioProbe(
                format=name,
                content_type=content_type,
                duration=float(info.length),
                bitrate=_positive(info, "bitrate"),
                sample_rate=_positive(info, "sample_rate"),
                channels=_positive(info, "channels"),
            )
    raise UnsupportedMediaType("the file is not a recognised audio format")  # unreachable


def _positive(info: Any, name: str) -> int | None:
    value = getattr(info, name, None)
    return int(value) if value else None


def _probe_webm(path: Path) -> AudioProbe:
    """WebM/Matroska (browser recordings), which mutagen cannot read."""
    try:
        with av.open(str(path)) as container:
            if not container.streams.audio:
                raise UnsupportedMediaType("the file is a video without sound, not audio")
            stream = container.streams.audio[0]
            end = _demuxed_end(container, stream)
            header = container.duration / av.time_base if container.duration else None
            return AudioProbe(
                format="webm",
                content_type="audio/webm",
                duration=float(header or end),
                bitrate=container.bit_rate or None,
                sample_rate=stream.sample_rate or None,
                channels=stream.channels or None,
            )
    except LibraryError:
        raise
    except Exception as e:  # PyAV raises FFmpegError, OSError, ValueError...
        raise InvalidMedia(f"the WebM file is damaged or truncated{describe_error(e)}") from e


def _demuxed_end(container: Any, stream: Any) -> float:
    """Where the last audio packet ends. MediaRecorder's WebM has no duration in its
    header, so reading the packets (not decoding them) is the only way to know."""
    end = 0.0
    for packet in container.demux(stream):
        if packet.pts is not None and packet.time_base is not None:
            end = max(end, float((packet.pts + (packet.duration or 0)) * packet.time_base))
    if end <= 0:
        raise InvalidMedia("the WebM file contains no audio data")
    return end


def _easy_text(tags: Any) -> dict[str, str]:
    """First value of each easy key (EasyID3, EasyMP4 and Vorbis comments share them)."""
    text: dict[str, str] = {}
    for key in ("title", "artist", "album", "genre", "date"):
        values = tags.get(key) if tags is not None else None
        if values and str(values[0]).strip():
            text[key] = str(values[0]).strip()
    return text


def _id3_text(tags: Any) -> dict[str, str]:
    """ID3 inside WAV has no easy wrapper: read the same frames by hand."""
    frames = {"title": "TIT2", "artist": "TPE1", "album": "TALB", "genre": "TCON", "date": "TDRC"}
    text: dict[str, str] = {}
    for key, frame_id in frames.items():
        frame = tags.get(frame_id)
        values = (frame.genres if frame_id == "TCON" else frame.text) if frame else []
        if values and str(values[0]).strip():
            text[key] = str(values[0]).strip()
    return text


def _year(date: str | None) -> int | None:
    match = re.search(r"\d{4}", date or "")
    return int(match.group()) if match else None
