"""Loudness, true peak and waveform of generated tones at known levels.

These touch tmp_path: the analyzer is about real bytes decoded by FFmpeg."""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np
import pyloudnorm
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import signal as scipy_signal

from domain.library import InvalidMedia
from domain.sound import Loudness, gain_db
from infra.audio_analysis import (
    _TAPS_PER_PHASE,
    OVERSAMPLE,
    WAVEFORM_POINTS,
    AvAnalyzer,
    _Meter,
)
from tests import audio_factory as make

RATE = 44100


def sine(seconds: float, dbfs: float, freq: float = 997) -> np.ndarray:
    t = np.arange(round(seconds * RATE)) / RATE
    return float(10 ** (dbfs / 20)) * np.sin(2 * np.pi * freq * t)


def write_wav(path: Path, samples: np.ndarray, channels: int = 1) -> Path:
    pcm = np.round(np.clip(samples, -1, 1) * 32767).astype("<i2")
    if channels == 2:
        pcm = np.repeat(pcm, 2)
    with wave.open(str(path), "wb") as out:
        out.setnchannels(channels)
        out.setsampwidth(2)
        out.setframerate(RATE)
        out.writeframes(pcm.tobytes())
    return path


def test_a_sine_at_minus_20_dbfs_measures_its_known_loudness(tmp_path: Path) -> None:
    # BS.1770: a 997 Hz sine with its peak at -20 dBFS on one channel is -23.0 LUFS
    found = AvAnalyzer().analyze(write_wav(tmp_path / "tone.wav", sine(5, -20)))

    assert found.integrated_lufs == pytest.approx(-23.0, abs=0.5)
    assert found.true_peak_dbtp == pytest.approx(-20.0, abs=0.1)
    assert found.duration == pytest.approx(5.0, abs=0.01)


def test_stereo_adds_3_lu_and_matches_pyloudnorm(tmp_path: Path) -> None:
    samples = sine(4, -20, freq=440) + sine(4, -30, freq=3000)
    found = AvAnalyzer().analyze(write_wav(tmp_path / "st.wav", samples, channels=2))

    pcm = np.round(samples * 32767) / 32768
    expected = pyloudnorm.Meter(RATE).integrated_loudness(np.stack([pcm, pcm], axis=1))
    assert found.integrated_lufs == pytest.approx(expected, abs=0.05)


def test_an_mp3_13_8_db_louder_measures_13_8_lu_louder(tmp_path: Path) -> None:
    quiet = AvAnalyzer().analyze(write_wav(tmp_path / "q.wav", sine(3, -20, freq=440)))
    mp3 = tmp_path / "loud.mp3"
    mp3.write_bytes(make.mp3_bytes(3.0))  # audio_factory's tone: peak 16000/32768 = -6.2 dBFS
    loud = AvAnalyzer().analyze(mp3)

    assert quiet.integrated_lufs is not None and loud.integrated_lufs is not None
    assert loud.integrated_lufs - quiet.integrated_lufs == pytest.approx(13.8, abs=0.5)
    assert loud.true_peak_dbtp == pytest.approx(-6.2, abs=0.5)


def test_true_peak_finds_the_peak_between_samples(tmp_path: Path) -> None:
    # a quarter-rate sine sampled at 45 degrees: every sample at 0.707 of its peak
    t = np.arange(RATE * 2)
    samples = 0.5 * np.sin(np.pi / 2 * t + np.pi / 4)
    found = AvAnalyzer().analyze(write_wav(tmp_path / "fs4.wav", samples))

    sample_peak = 20 * np.log10(np.abs(samples).max())
    assert found.true_peak_dbtp is not None
    assert found.true_peak_dbtp > sample_peak + 2.0  # the 0.5 peak is -6.0 dBFS
    assert found.true_peak_dbtp == pytest.approx(-6.0, abs=0.5)


def test_the_waveform_is_a_thousand_min_max_pairs_following_the_level(tmp_path: Path) -> None:
    samples = np.concatenate([sine(2, -20), np.zeros(RATE * 2), sine(2, -6)])
    found = AvAnalyzer().analyze(write_wav(tmp_path / "steps.wav", samples))

    assert len(found.peaks) == WAVEFORM_POINTS
    assert all(low <= high for low, high in found.peaks)
    first, middle, last = found.peaks[10], found.peaks[500], found.peaks[990]
    assert first == pytest.approx((-0.1, 0.1), abs=0.01)
    assert middle == (0.0, 0.0)
    assert last == pytest.approx((-0.501, 0.501), abs=0.01)


def test_silence_has_no_loudness_and_gets_no_gain(tmp_path: Path) -> None:
    found = AvAnalyzer().analyze(write_wav(tmp_path / "silent.wav", np.zeros(RATE * 2)))

    assert (found.integrated_lufs, found.true_peak_dbtp) == (None, None)
    assert gain_db(Loudness(float("-inf"), float("-inf")), -14.0) == 0.0


def test_a_file_that_is_not_audio_is_invalid_media(tmp_path: Path) -> None:
    with pytest.raises(InvalidMedia):
        AvAnalyzer().analyze(make.random_bytes_file(tmp_path / "noise.bin"))


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), frames=st.lists(st.integers(1, 9000), min_size=1,
                                                         max_size=6))
def test_true_peak_skipping_quiet_stretches_finds_what_oversampling_everything_finds(
        seed: int, frames: list[int]) -> None:
    """The meter skips stretches that cannot raise the peak; over frames of any size
    the result equals oversampling the whole signal at once."""
    rng = np.random.default_rng(seed)
    total = sum(frames)
    envelope = np.repeat(rng.uniform(0.01, 1.0, size=total // 500 + 1), 500)[:total]
    signal_ = (rng.standard_normal((2, total)) * envelope / 4).astype(np.float32)
    meter = _Meter(RATE, 2, total)
    start = 0
    for size in frames:
        meter._peak(signal_[:, start:start + size])
        start += size
    whole = _Meter(RATE, 2, total)
    padded = np.concatenate([np.zeros((2, _TAPS_PER_PHASE), np.float32), signal_], axis=1)
    upsampled = scipy_signal.upfirdn(whole._fir, padded, up=OVERSAMPLE, axis=1)
    kept = upsampled[:, (_TAPS_PER_PHASE - 1) * OVERSAMPLE:(padded.shape[1] - 1) * OVERSAMPLE]
    expected = max(float(np.abs(kept).max(initial=0.0)), float(np.abs(signal_).max()))
    assert meter.true_peak == pytest.approx(expected, rel=1e-6)
