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
from io import BytesIO
from pathlib import Path

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
    year: int | None = None,
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


def _encode_with_av(path: Path, seconds: float, container: str, codec: str, rate: int) -> Path:
    """Encode a sine tone with PyAV (Opus wants 48 kHz)."""
    pcm = sine_pcm(seconds, rate=rate)
    with av.open(str(path), "w", format=container) as output:
        stream = output.add_stream(codec, rate=rate)
        stream.layout = "mono"  # type: ignore[union-attr]
        chunk = 960 * 2  # 20 ms of 16-bit mono at 48 kHz
        for start in range(0, len(pcm), chunk):
            piece = pcm[start : start + chunk]
            frame = av.AudioFrame(format="s16", layout="mono", samples=len(piece) // 2)
            frame.planes[0].update(piece)
            frame.sample_rate = rate
            frame.pts = start // 2
            frame.time_base = Fraction(1, rate)
            for packet in stream.encode(frame):  # type: ignore[union-attr]
                output.mux(packet)
        for packet in stream.encode(None):  # type: ignore[union-attr]
            output.mux(packet)
    return path


def make_ogg_opus(path: Path, seconds: float) -> Path:
    return _encode_with_av(path, seconds, "ogg", "libopus", 48000)


def make_webm(path: Path, seconds: float) -> Path:
    """What a browser's MediaRecorder uploads: Opus audio in a WebM container."""
    return _encode_with_av(path, seconds, "webm", "libopus", 48000)


def make_flac(path: Path, seconds: float) -> Path:
    return _encode_with_av(path, seconds, "flac", "flac", RATE)


def make_png(size: tuple[int, int] = (64, 64)) -> bytes:
    out = BytesIO()
    Image.new("RGBA", size, (200, 30, 30, 255)).save(out, "PNG")
    return out.getvalue()


def make_jpeg(size: tuple[int, int] = (64, 64)) -> bytes:
    out = BytesIO()
    Image.new("RGB", size, (30, 30, 200)).save(out, "JPEG")
    return out.getvalue()


def truncated_mp3(path: Path, keep: int = 200) -> Path:
    """A real tagged MP3 cut to its first `keep` bytes.

    The ID3 header then claims a tag longer than the file, and no whole MPEG frame
    follows it: mutagen raises instead of reporting a length, so the inspector
    must reject it as InvalidMedia. The cover makes the tag bigger than `keep`.
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
