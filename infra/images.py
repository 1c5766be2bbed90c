"""Pictures: uploaded images checked and thumbnailed (Pillow), and the cover art
embedded in audio files (mutagen's picture frames)."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from contextlib import contextmanager
from io import BytesIO
from typing import Any, cast

from mutagen.flac import FLAC, Picture
from mutagen.id3 import ID3
from mutagen.mp4 import MP4, MP4Cover
from PIL import Image, UnidentifiedImageError

from application.ports import ImageInfo
from domain.library import InvalidMedia, UnsupportedMediaType

_MAX_PIXELS = 50_000_000
_IMAGE_TYPES = {"jpeg": "image/jpeg", "png": "image/png", "webp": "image/webp", "gif": "image/gif"}


class PillowImages:
    """ImageProcessor: validates uploads (cover art, logos) and makes thumbnails."""

    def inspect(self, data: bytes) -> ImageInfo:
        if not data:
            raise InvalidMedia("the image is empty")
        with _image(data) as image:
            fmt = (image.format or "").lower()
            if fmt not in _IMAGE_TYPES:
                raise UnsupportedMediaType(f"{fmt.upper() or 'this'} images are not accepted")
            try:
                image.verify()
            except Exception as e:
                raise InvalidMedia(f"the {fmt} image is damaged{describe_error(e)}") from e
        with _image(data) as image:  # verify() leaves the image unusable: open again
            width, height = image.size
        return ImageInfo(fmt, _IMAGE_TYPES[fmt], width, height)

    def thumbnail(self, data: bytes, size: int) -> bytes:
        with _image(data) as image:
            try:
                image.thumbnail((size, size))
                rgb = image.convert("RGB")
            except Exception as e:
                raise InvalidMedia(f"the image cannot be decoded{describe_error(e)}") from e
        out = BytesIO()
        rgb.save(out, "JPEG", quality=85)
        return out.getvalue()


@contextmanager
def _image(data: bytes) -> Iterator[Image.Image]:
    try:
        image = Image.open(BytesIO(data))
    except UnidentifiedImageError as e:
        raise UnsupportedMediaType("the file is not a recognised image format") from e
    except Image.DecompressionBombError as e:
        raise InvalidMedia("the image is too large (decompression bomb guard)") from e
    except Exception as e:
        raise InvalidMedia(f"the image cannot be read{describe_error(e)}") from e
    with image:
        width, height = image.size  # read from the header, nothing decoded yet
        if width * height > _MAX_PIXELS:
            raise InvalidMedia(f"the image is too large ({width}×{height} pixels)")
        yield image


def cover_of(found: Any) -> tuple[bytes | None, str | None]:
    """Embedded cover art, preferring the front cover (picture type 3)."""
    pictures: list[tuple[int, bytes, str]] = []  # (is front cover, data, mime)
    tags: Any = found.tags
    if isinstance(tags, ID3):
        apics: list[Any] = cast(Any, tags).getall("APIC")  # isinstance made it typed
        pictures = [(p.type == 3, p.data, p.mime) for p in apics]
    elif isinstance(found, MP4) and tags is not None:
        pictures = [(True, bytes(c), _mp4_mime(c)) for c in tags.get("covr", [])]
    elif isinstance(found, FLAC):
        pictures = [(p.type == 3, p.data, p.mime) for p in found.pictures]
    elif tags is not None and hasattr(tags, "get"):  # Ogg: base64 FLAC picture blocks
        pictures = [_ogg_picture(v) for v in tags.get("metadata_block_picture", [])]
    pictures = [p for p in pictures if p[1] and p[2] != "-->"]  # "-->" means a URL
    if not pictures:
        return None, None
    _, data, mime = max(pictures, key=lambda p: p[0])
    return data, mime or _sniff_image_mime(data)


def _mp4_mime(cover: MP4Cover) -> str:
    return "image/png" if cover.imageformat == MP4Cover.FORMAT_PNG else "image/jpeg"


def _ogg_picture(value: str) -> tuple[int, bytes, str]:
    try:
        picture = cast(Any, Picture)(base64.b64decode(value))
    except Exception:  # a broken picture should not make the whole file unreadable
        return (False, b"", "")
    return (picture.type == 3, picture.data, picture.mime)


def _sniff_image_mime(data: bytes) -> str | None:
    try:
        with Image.open(BytesIO(data)) as image:
            return Image.MIME.get(image.format or "")
    except Exception:
        return None


def describe_error(error: Exception) -> str:
    """The library's explanation as a suffix, if it gave one (mutagen often does not)."""
    return f" ({error})" if str(error) else ""
