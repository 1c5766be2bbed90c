"""Ingest time per minute of audio: what the metadata job does to a file (tags,
loudness, true peak, waveform: infra/media.py and infra/audio_analysis.py) against
a plain decode of the same file. The baseline is `ffmpeg -i FILE -f null -` when
the ffmpeg CLI is installed, else a PyAV loop that only decodes (the same FFmpeg
libraries). The file is a 3-minute stereo MP3 of tones and noise, made here.
"""

from __future__ import annotations

import json
import shutil
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import av
import lameenc
import numpy as np

from bench.core import Context, Row
from infra.audio_analysis import AvAnalyzer
from infra.media import MutagenInspector

RATE = 44100


def _music_like(seconds: float) -> bytes:
    """Stereo 16-bit PCM: a few drifting tones, noise, and a beat of loudness."""
    rng = np.random.default_rng(7)
    t = np.arange(round(seconds * RATE)) / RATE
    tones = sum(np.sin(2 * np.pi * f * t * (1 + 0.01 * np.sin(t))) for f in (110, 440, 1320))
    beat = 0.6 + 0.4 * (np.sin(2 * np.pi * 2 * t) > 0)
    left = 0.15 * tones * beat + 0.05 * rng.standard_normal(t.size)
    right = np.roll(left, 200)
    pcm = np.round(np.clip(np.stack([left, right], axis=1), -1, 1) * 32767).astype("<i2")
    return pcm.tobytes()


def _mp3(path: Path, seconds: float) -> Path:
    encoder = lameenc.Encoder()
    encoder.set_bit_rate(192)
    encoder.set_in_sample_rate(RATE)
    encoder.set_channels(2)
    encoder.set_quality(5)
    path.write_bytes(bytes(encoder.encode(_music_like(seconds)) + encoder.flush()))
    return path


def _decode(path: Path) -> None:
    with av.open(str(path)) as container:
        for _ in container.decode(container.streams.audio[0]):
            pass


def _ffmpeg(path: Path) -> None:
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-i", str(path), "-f", "null", "-"],
                   check=True)


def _ffmpeg_meter(path: Path) -> None:
    """FFmpeg's own loudness meter (C): integrated loudness and 4x true peak, no waveform."""
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-i", str(path),
                    "-af", "ebur128=peak=true", "-f", "null", "-"], check=True)


def _ingest(path: Path) -> None:
    MutagenInspector().read_tags(path)
    found = AvAnalyzer().analyze(path)
    json.dumps({"peaks": found.peaks, "duration": found.duration})


def _timed(work: Callable[[Path], None], path: Path, rounds: int) -> float:
    """The median of `rounds` runs, in seconds (after one warm-up)."""
    work(path)
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        work(path)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def run(ctx: Context) -> list[Row]:
    seconds, rounds = (30.0, 3) if ctx.quick else (180.0, 7)
    baseline_name = "ffmpeg -f null" if shutil.which("ffmpeg") else "a PyAV decode loop"
    baseline = _ffmpeg if shutil.which("ffmpeg") else _decode
    with tempfile.TemporaryDirectory(prefix="s2g-bench-ingest-") as tmp:
        path = _mp3(Path(tmp) / "music.mp3", seconds)
        plain = _timed(baseline, path, rounds)
        ingest = _timed(_ingest, path, rounds)
        meter = _timed(_ffmpeg_meter, path, rounds) if shutil.which("ffmpeg") else None
    minutes = seconds / 60
    note = (f"{ingest / plain:.1f}x a plain decode ({baseline_name}: "
            f"{plain / minutes * 1000:.0f} ms per minute; ffmpeg CLI "
            f"{'present' if shutil.which('ffmpeg') else 'not installed'}); target <= 1.5x")
    return [
        Row("ingest.per_minute", f"ingest per minute of audio (tags + loudness + true peak "
            f"+ waveform, {seconds / 60:.0f}-min stereo MP3)", per_s=round(minutes / ingest, 1),
            p50_ms=round(ingest / minutes * 1000, 1), note=note,
            data={"ratio": round(ingest / plain, 2), "baseline": baseline_name,
                  "baseline_ms_per_minute": round(plain / minutes * 1000, 1)}),
        Row("ingest.baseline", f"baseline: {baseline_name} of the same file",
            per_s=round(minutes / plain, 1), p50_ms=round(plain / minutes * 1000, 1),
            note="minutes of audio per second in per_s"),
        *([] if meter is None else [Row(
            "ingest.ffmpeg_ebur128", "reference: FFmpeg's own loudness meter (ebur128,"
            " true peak) on the same file", per_s=round(minutes / meter, 1),
            p50_ms=round(meter / minutes * 1000, 1),
            note=f"{meter / plain:.1f}x the plain decode: what measuring costs in C",
            data={"ratio": round(meter / plain, 2)})]),
    ]
