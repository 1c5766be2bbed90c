"""Real media files for tests: tiny sine-wave recordings and images, made on the spot.

Every helper writes (or returns) genuine content so the adapters under test see what
users upload. Nothing here is mocked; nothing needs the network.
"""

from __future__ import annotations

import array
import math
import random
import shutil
import subprocess
import sys
import wave
from fractions import Fraction
from io import BytesIO, RawIOBase
from pathlib import Path
from typing import Any, BinaryIO, cast

import av
import lameenc
from mutagen.id3 import APIC, ID3, TALB, TCON, TDRC, TIT2, TPE1
from PIL import Image

RATE = 44100


def sine_pcm(seconds: float, freq: float = 440, rate: int = RATE) -> bytes:
    """16-bit little-endian mono PCM of a sine tone at half volume."""
    count = round(seconds * rate)
    step = 2 * math.pi * freq / rate
    samples = array.array("h", (int(16000 * math.sin(i * step)) for i in range(count)))
    if sys.byteorder == "big":
        samples.byteswap()
    return samples.tobytes()


def make_wav(path: Path, seconds: float, *, freq: float = 440, rate: int = RATE) -> Path:
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(sine_pcm(seconds, freq, rate))
    return path


def mp3_bytes(seconds: float, *, freq: float = 440) -> bytes:
    encoder = lameenc.Encoder()
    encoder.set_bit_rate(128)
    encoder.set_in_sample_rate(RATE)
    encoder.set_channels(1)
    encoder.set_quality(7)
    return bytes(encoder.encode(sine_pcm(seconds, freq)) + encoder.flush())


def make_mp3(
    path: Path,
    seconds: float,
    *,
    title: str | None = None,
    artist: str | None = None,
    album: str | None = None,
    genre: str | None = None,
    year: int | str | None = None,
    cover: bytes | None = None,
) -> Path:
    """An MP3 with an ID3v2 tag holding whichever fields are given."""
    path.write_bytes(mp3_bytes(seconds))
    tags = ID3()
    frames = [(TIT2, title), (TPE1, artist), (TALB, album), (TCON, genre), (TDRC, year)]
    for frame, value in frames:
        if value is not None:
            tags.add(frame(encoding=3, text=[str(value)]))
    if cover is not None:
        mime = "image/png" if cover.startswith(b"\x89PNG") else "image/jpeg"
        tags.add(APIC(encoding=3, mime=mime, type=3, desc="Cover", data=cover))
    tags.save(path)
    return path


def _encode_with_av(
    target: Path | BinaryIO,
    seconds: float,
    container: str,
    codec: str,
    rate: int,
    *,
    stereo: bool = False,
    options: dict[str, str] | None = None,
) -> None:
    """Encode a sine tone with PyAV into a file name or a writable stream."""
    mono = sine_pcm(seconds, rate=rate)
    pcm = _interleave(mono) if stereo else mono
    layout, width = ("stereo", 4) if stereo else ("mono", 2)
    with av.open(target, "w", format=container) as output:
        stream: Any = output.add_stream(codec, rate=rate, options=options or {})
        stream.layout = layout
        chunk = 1024 * width  # 1024 samples per frame
        for start in range(0, len(pcm), chunk):
            piece = pcm[start : start + chunk]
            frame = av.AudioFrame(format="s16", layout=layout, samples=len(piece) // width)
            frame.planes[0].update(piece)
            frame.sample_rate = rate
            frame.pts = start // width
            frame.time_base = Fraction(1, rate)
            for packet in stream.encode(frame):
                output.mux(packet)
        for packet in stream.encode(None):
            output.mux(packet)


def _interleave(mono: bytes) -> bytes:
    """The same 16-bit samples on both channels."""
    return b"".join(mono[i : i + 2] * 2 for i in range(0, len(mono), 2))


def make_ogg_opus(path: Path, seconds: float) -> Path:
    _encode_with_av(path, seconds, "ogg", "libopus", 48000)
    return path


def make_ogg_vorbis(path: Path, seconds: float) -> Path:
    # FFmpeg's own Vorbis encoder is "experimental" and only does stereo.
    _encode_with_av(path, seconds, "ogg", "vorbis", RATE, stereo=True, options={"strict": "-2"})
    return path


def make_m4a(path: Path, seconds: float) -> Path:
    _encode_with_av(path, seconds, "ipod", "aac", RATE)
    return path


def make_aac(path: Path, seconds: float) -> Path:
    """Raw AAC in ADTS frames (no container, no ID3), as some recorders save it."""
    _encode_with_av(path, seconds, "adts", "aac", RATE)
    return path


def make_flac(path: Path, seconds: float) -> Path:
    _encode_with_av(path, seconds, "flac", "flac", RATE)
    return path


class _Unseekable(RawIOBase):
    """A write-only stream that cannot seek, like a live upload."""

    def __init__(self, sink: BinaryIO) -> None:
        self.sink = sink

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        return self.sink.write(bytes(data))


def make_webm(path: Path, seconds: float, *, live: bool = False) -> Path:
    """Opus audio in a WebM container, what a browser's MediaRecorder uploads.

    `live=True` writes through a stream that cannot seek, so the muxer cannot go
    back to fill in the duration: like MediaRecorder's files, it has none.
    """
    if not live:
        _encode_with_av(path, seconds, "webm", "libopus", 48000)
        return path
    with path.open("wb") as sink:
        _encode_with_av(cast(BinaryIO, _Unseekable(sink)), seconds, "webm", "libopus", 48000)
    return path


def make_silent_video(path: Path, seconds: float, container: str = "mp4") -> Path:
    """A tiny MPEG-4 video with no sound track ("mp4", or "matroska" for EBML)."""
    with av.open(str(path), "w", format=container) as output:
        stream: Any = output.add_stream("mpeg4", rate=10)
        stream.width, stream.height, stream.pix_fmt = 32, 32, "yuv420p"
        for index in range(round(seconds * 10)):
            frame = av.VideoFrame(32, 32, "yuv420p")
            frame.pts = index
            for packet in stream.encode(frame):
                output.mux(packet)
        for packet in stream.encode(None):
            output.mux(packet)
    return path


def make_image(size: tuple[int, int] = (64, 64), fmt: str = "PNG") -> bytes:
    """A solid-colour image in any format Pillow writes (PNG, JPEG, WEBP, GIF, BMP...)."""
    mode = "RGBA" if fmt in {"PNG", "WEBP"} else "RGB"
    out = BytesIO()
    Image.new(mode, size, (200, 30, 30)).save(out, fmt)
    return out.getvalue()


def make_png(size: tuple[int, int] = (64, 64)) -> bytes:
    return make_image(size, "PNG")


def make_jpeg(size: tuple[int, int] = (64, 64)) -> bytes:
    return make_image(size, "JPEG")


def truncated_mp3(path: Path, keep: int = 200) -> Path:
    """A real tagged MP3 cut to its first `keep` bytes.

    The ID3 header then claims a tag longer than the file and no MPEG frame follows:
    mutagen raises, and the inspector must answer InvalidMedia. mutagen pads the tag
    to about 1.1 KB, so any `keep` under ~1000 cuts inside it. Cuts after the tag,
    between audio frames, are accepted as a shorter MP3 (frames are independent and
    lameenc writes no frame count to contradict the file size).
    """
    make_mp3(path, 1.0, title="Cut short", cover=make_png((32, 32)))
    path.write_bytes(path.read_bytes()[:keep])
    return path


def random_bytes_file(path: Path, n: int = 4096, seed: int = 1234) -> Path:
    """Deterministic noise (seeded, so a failing test fails every time)."""
    path.write_bytes(random.Random(seed).randbytes(n))
    return path


def espeak_available() -> bool:
    return shutil.which("espeak-ng") is not None


def espeak_wav(path: Path, text: str) -> Path:
    """Speech from espeak-ng; callers skip when `espeak_available()` is false."""
    subprocess.run(
        ["espeak-ng", "-v", "en-us", "-w", str(path), "--", text],
        check=True,
        capture_output=True,
        timeout=60,
    )
    return path
