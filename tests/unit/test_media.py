"""The media adapters against real files: formats by content, tags, images.

These touch tmp_path because the adapters are about real bytes; each file is a
second or less of sine tone, so the whole module runs in about a second.
"""

from __future__ import annotations

import base64
import struct
import zlib
from collections.abc import Callable
from io import BytesIO
from pathlib import Path

import pytest
from mutagen.flac import FLAC, Picture
from mutagen.id3 import TIT2, TPE1
from mutagen.mp4 import MP4, MP4Cover
from mutagen.oggopus import OggOpus
from mutagen.wave import WAVE
from PIL import Image

from domain.library import (
    ANNOUNCEMENT_FORMATS,
    MUSIC_FORMATS,
    InvalidMedia,
    UnsupportedMediaType,
)
from infra.media import MutagenInspector, PillowImages
from tests import audio_factory as make

EVERYTHING = MUSIC_FORMATS | ANNOUNCEMENT_FORMATS
SECONDS = 1.5


@pytest.fixture
def inspector() -> MutagenInspector:
    return MutagenInspector()


# (maker, misleading file name, format, content type)
REAL_FILES: list[tuple[Callable[[Path, float], Path], str, str, str]] = [
    (make.make_mp3, "song.wav", "mp3", "audio/mpeg"),
    (make.make_wav, "song.mp3", "wav", "audio/wav"),
    (make.make_m4a, "song.ogg", "m4a", "audio/mp4"),
    (make.make_aac, "song.mp3", "aac", "audio/aac"),
    (make.make_ogg_vorbis, "song.opus", "ogg", "audio/ogg"),
    (make.make_ogg_opus, "song.ogg", "opus", "audio/ogg"),
    (make.make_flac, "song.wav", "flac", "audio/flac"),
    (make.make_webm, "message.mp3", "webm", "audio/webm"),
]


@pytest.mark.parametrize(("maker", "name", "fmt", "content_type"), REAL_FILES)
def test_probe_detects_the_format_from_content_not_from_the_name(
    inspector: MutagenInspector,
    tmp_path: Path,
    maker: Callable[[Path, float], Path],
    name: str,
    fmt: str,
    content_type: str,
) -> None:
    probe = inspector.probe(maker(tmp_path / name, SECONDS), EVERYTHING)

    assert (probe.format, probe.content_type) == (fmt, content_type)
    assert probe.duration == pytest.approx(SECONDS, abs=0.15)


def test_probe_reports_stream_details(inspector: MutagenInspector, tmp_path: Path) -> None:
    probe = inspector.probe(make.make_mp3(tmp_path / "a.mp3", 1.0), MUSIC_FORMATS)

    assert (probe.bitrate, probe.sample_rate, probe.channels) == (128000, 44100, 1)


def test_a_browser_recording_without_a_duration_is_measured_from_its_packets(
    inspector: MutagenInspector, tmp_path: Path
) -> None:
    recording = make.make_webm(tmp_path / "recording.webm", SECONDS, live=True)

    probe = inspector.probe(recording, ANNOUNCEMENT_FORMATS)

    assert probe.format == "webm"
    assert probe.duration == pytest.approx(SECONDS, abs=0.15)


def test_aac_behind_an_id3_tag_is_still_aac(inspector: MutagenInspector, tmp_path: Path) -> None:
    path = make.make_aac(tmp_path / "tagged.aac", SECONDS)
    tags = make.ID3()
    tags.add(TIT2(encoding=3, text=["Jingle"]))
    tags.save(path)

    assert inspector.probe(path, MUSIC_FORMATS).format == "aac"


def test_random_bytes_named_mp3_are_not_audio(inspector: MutagenInspector, tmp_path: Path) -> None:
    noise = make.random_bytes_file(tmp_path / "song.mp3", 64 * 1024)

    with pytest.raises(UnsupportedMediaType, match="not a recognised audio format"):
        inspector.probe(noise, MUSIC_FORMATS)


def test_noise_after_an_mpeg_sync_word_is_not_taken_for_mp3(
    inspector: MutagenInspector, tmp_path: Path
) -> None:
    path = tmp_path / "song.mp3"
    path.write_bytes(b"\xff\xfb" + make.random_bytes_file(tmp_path / "noise", 8192).read_bytes())

    with pytest.raises((UnsupportedMediaType, InvalidMedia)):
        inspector.probe(path, MUSIC_FORMATS)


@pytest.mark.parametrize(("image", "what"), [("PNG", "PNG image"), ("JPEG", "JPEG image")])
def test_an_image_named_mp3_is_refused_as_an_image(
    inspector: MutagenInspector, tmp_path: Path, image: str, what: str
) -> None:
    path = tmp_path / "song.mp3"
    path.write_bytes(make.make_image((16, 16), image))

    with pytest.raises(UnsupportedMediaType, match=what):
        inspector.probe(path, MUSIC_FORMATS)


@pytest.mark.parametrize("container", ["mp4", "matroska"])
def test_a_video_without_sound_is_not_audio(
    inspector: MutagenInspector, tmp_path: Path, container: str
) -> None:
    video = make.make_silent_video(tmp_path / "clip.m4a", 1.0, container)

    with pytest.raises(UnsupportedMediaType, match="video without sound"):
        inspector.probe(video, EVERYTHING)


def test_an_empty_file_is_invalid(inspector: MutagenInspector, tmp_path: Path) -> None:
    path = tmp_path / "song.mp3"
    path.touch()

    with pytest.raises(InvalidMedia, match="empty"):
        inspector.probe(path, MUSIC_FORMATS)


def test_an_mp3_cut_inside_its_tag_is_invalid(inspector: MutagenInspector, tmp_path: Path) -> None:
    with pytest.raises(InvalidMedia, match="truncated"):
        inspector.probe(make.truncated_mp3(tmp_path / "cut.mp3"), MUSIC_FORMATS)


def test_an_mp3_cut_between_frames_still_plays_and_is_accepted_shorter(
    inspector: MutagenInspector, tmp_path: Path
) -> None:
    # MP3 is a stream of independent frames and lameenc writes no frame count, so a
    # file cut after some whole frames is a valid, shorter MP3.
    path = tmp_path / "cut.mp3"
    path.write_bytes(make.mp3_bytes(2.0)[:8000])

    assert inspector.probe(path, MUSIC_FORMATS).duration == pytest.approx(0.5, abs=0.1)


def test_a_wav_shorter_than_its_header_says_is_invalid(
    inspector: MutagenInspector, tmp_path: Path
) -> None:
    path = make.make_wav(tmp_path / "cut.wav", SECONDS)
    path.write_bytes(path.read_bytes()[:5000])

    with pytest.raises(InvalidMedia, match="truncated"):
        inspector.probe(path, MUSIC_FORMATS)


def test_a_wav_without_samples_is_invalid(inspector: MutagenInspector, tmp_path: Path) -> None:
    with pytest.raises(InvalidMedia, match="zero duration"):
        inspector.probe(make.make_wav(tmp_path / "silence.wav", 0), MUSIC_FORMATS)


@pytest.mark.parametrize("keep", [4, 100])
def test_a_truncated_webm_is_invalid(
    inspector: MutagenInspector, tmp_path: Path, keep: int
) -> None:
    path = make.make_webm(tmp_path / "message.webm", SECONDS)
    path.write_bytes(path.read_bytes()[:keep])

    with pytest.raises(InvalidMedia):
        inspector.probe(path, ANNOUNCEMENT_FORMATS)


def test_a_format_not_allowed_here_is_unsupported(
    inspector: MutagenInspector, tmp_path: Path
) -> None:
    recording = make.make_webm(tmp_path / "message.webm", SECONDS)

    with pytest.raises(UnsupportedMediaType, match="webm audio, which is not accepted"):
        inspector.probe(recording, MUSIC_FORMATS)


def test_read_tags_returns_the_id3_fields_and_the_cover(
    inspector: MutagenInspector, tmp_path: Path
) -> None:
    cover = make.make_jpeg((40, 40))
    path = make.make_mp3(
        tmp_path / "track.bin", 1.0, title="Blue in Green", artist="Miles Davis",
        album="Kind of Blue", genre="Jazz", year="1959-08-17", cover=cover,
    )  # fmt: skip

    tags = inspector.read_tags(path)

    assert (tags.title, tags.artist, tags.album, tags.genre, tags.year) == (
        "Blue in Green", "Miles Davis", "Kind of Blue", "Jazz", 1959,
    )  # fmt: skip
    assert (tags.cover, tags.cover_mime) == (cover, "image/jpeg")
    assert tags.duration == pytest.approx(1.0, abs=0.15)


def test_read_tags_of_an_untagged_file_gives_only_the_duration(
    inspector: MutagenInspector, tmp_path: Path
) -> None:
    tags = inspector.read_tags(make.make_mp3(tmp_path / "plain.mp3", 1.0))

    assert (tags.title, tags.artist, tags.year, tags.cover) == (None, None, None, None)
    assert tags.duration == pytest.approx(1.0, abs=0.15)


def test_read_tags_reads_id3_inside_a_wav(inspector: MutagenInspector, tmp_path: Path) -> None:
    path = make.make_wav(tmp_path / "take.wav", 1.0)
    wav = WAVE(path)
    wav.add_tags()
    wav.tags.add(TIT2(encoding=3, text=["Take 3"]))
    wav.tags.add(TPE1(encoding=3, text=["Studio"]))
    wav.save()

    tags = inspector.read_tags(path)

    assert (tags.title, tags.artist) == ("Take 3", "Studio")


def test_read_tags_reads_vorbis_comments_and_picture_of_a_flac(
    inspector: MutagenInspector, tmp_path: Path
) -> None:
    cover = make.make_png((20, 20))
    flac = FLAC(make.make_flac(tmp_path / "track.flac", 1.0))
    flac.update({"title": "Clair de Lune", "artist": "Debussy", "date": "1905", "genre": "Piano"})
    picture = Picture()
    picture.type, picture.mime, picture.data = 3, "image/png", cover
    flac.add_picture(picture)
    flac.save()

    tags = inspector.read_tags(Path(flac.filename))

    assert (tags.title, tags.artist, tags.year, tags.genre) == (
        "Clair de Lune", "Debussy", 1905, "Piano",
    )  # fmt: skip
    assert (tags.cover, tags.cover_mime) == (cover, "image/png")


def test_read_tags_reads_mp4_atoms_and_cover(inspector: MutagenInspector, tmp_path: Path) -> None:
    cover = make.make_png((20, 20))
    mp4 = MP4(make.make_m4a(tmp_path / "track.m4a", 1.0))
    mp4["\xa9nam"], mp4["\xa9ART"], mp4["\xa9day"] = ["So What"], ["Miles Davis"], ["1959"]
    mp4["covr"] = [MP4Cover(cover, imageformat=MP4Cover.FORMAT_PNG)]
    mp4.save()

    tags = inspector.read_tags(Path(mp4.filename))

    assert (tags.title, tags.artist, tags.year) == ("So What", "Miles Davis", 1959)
    assert (tags.cover, tags.cover_mime) == (cover, "image/png")


def test_read_tags_reads_an_ogg_picture_block(inspector: MutagenInspector, tmp_path: Path) -> None:
    cover = make.make_jpeg((20, 20))
    opus = OggOpus(make.make_ogg_opus(tmp_path / "track.opus", 1.0))
    picture = Picture()
    picture.type, picture.mime, picture.data = 3, "image/jpeg", cover
    opus["metadata_block_picture"] = [base64.b64encode(picture.write()).decode()]
    opus["title"] = ["Opus One"]
    opus.save()

    tags = inspector.read_tags(Path(opus.filename))

    assert (tags.title, tags.cover, tags.cover_mime) == ("Opus One", cover, "image/jpeg")


def test_read_tags_of_a_browser_recording_gives_its_duration(
    inspector: MutagenInspector, tmp_path: Path
) -> None:
    tags = inspector.read_tags(make.make_webm(tmp_path / "rec.webm", SECONDS, live=True))

    assert (tags.title, tags.cover) == (None, None)
    assert tags.duration == pytest.approx(SECONDS, abs=0.15)


@pytest.mark.parametrize("content", [b"", b"not audio at all" * 100, make.make_png()])
def test_read_tags_of_unreadable_content_is_invalid(
    inspector: MutagenInspector, tmp_path: Path, content: bytes
) -> None:
    path = tmp_path / "song.mp3"
    path.write_bytes(content)

    with pytest.raises(InvalidMedia):
        inspector.read_tags(path)


# --- images -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fmt", "name", "content_type"),
    [
        ("PNG", "png", "image/png"),
        ("JPEG", "jpeg", "image/jpeg"),
        ("WEBP", "webp", "image/webp"),
        ("GIF", "gif", "image/gif"),
    ],
)
def test_inspect_accepts_the_web_image_formats_with_their_size(
    fmt: str, name: str, content_type: str
) -> None:
    info = PillowImages().inspect(make.make_image((120, 80), fmt))

    assert (info.format, info.content_type, info.width, info.height) == (
        name, content_type, 120, 80,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("data", "error"),
    [
        (b"", InvalidMedia),
        (b"garbage, not a picture" * 10, UnsupportedMediaType),
        (make.make_image((8, 8), "BMP"), UnsupportedMediaType),
        (make.make_png((64, 64))[:60], InvalidMedia),
    ],
    ids=["empty", "garbage", "bmp", "truncated-png"],
)
def test_inspect_refuses_what_is_not_a_sound_web_image(data: bytes, error: type[Exception]) -> None:
    with pytest.raises(error):
        PillowImages().inspect(data)


def _png_claiming(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims another size (a decompression bomb's shape)."""
    data = bytearray(make.make_png((1, 1)))
    ihdr = bytearray(data[12:29])  # chunk type + 13 bytes of fields
    ihdr[4:12] = struct.pack(">II", width, height)
    data[12:29] = ihdr
    data[29:33] = struct.pack(">I", zlib.crc32(bytes(ihdr)))
    return bytes(data)


@pytest.mark.parametrize(("width", "height"), [(10_000, 6_000), (20_000, 20_000)])
def test_inspect_refuses_images_over_fifty_megapixels(width: int, height: int) -> None:
    with pytest.raises(InvalidMedia, match="too large"):
        PillowImages().inspect(_png_claiming(width, height))


def test_thumbnail_is_a_jpeg_that_fits_and_keeps_the_aspect_ratio() -> None:
    thumb = PillowImages().thumbnail(make.make_png((400, 200)), 64)

    with Image.open(BytesIO(thumb)) as image:
        assert (image.format, image.size, image.mode) == ("JPEG", (64, 32), "RGB")


def test_thumbnail_of_garbage_is_refused() -> None:
    with pytest.raises(UnsupportedMediaType):
        PillowImages().thumbnail(b"garbage" * 50, 64)
