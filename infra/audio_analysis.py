"""Loudness, true peak and waveform of an audio file, in one decoding pass (PyAV).

Integrated loudness follows ITU-R BS.1770-4 / EBU R128 with pyloudnorm's
K-weighting filters, applied frame by frame (filter state carried over) so a
long file is never held in memory at once; the gating is pyloudnorm's own
arithmetic on 100 ms sums. True peak is the sample peak of the signal
oversampled 4x (a polyphase FIR, history carried between frames). The waveform
is `WAVEFORM_POINTS` (min, max) pairs over the whole file.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import av
import numpy as np
import pyloudnorm
from scipy import signal

from application.ports import AudioAnalysis
from domain.library import InvalidMedia

WAVEFORM_POINTS = 1000
OVERSAMPLE = 4
_TAPS_PER_PHASE = 12
_BLOCK_S, _STEP_S = 0.4, 0.1  # BS.1770 gating blocks of 400 ms every 100 ms
_ABSOLUTE_GATE = -70.0
_CHUNK = 1 << 16  # samples per channel measured at once
_PEAK_BLOCK = 2048  # inputs per stretch that true peak oversamples, or skips
_CHANNEL_WEIGHTS = (1.0, 1.0, 1.0, 1.41, 1.41)  # L, R, C, Ls, Rs (BS.1770)
_SCALES = {"s16": 32768.0, "s16p": 32768.0, "s32": 2147483648.0, "s32p": 2147483648.0,
           "u8": 128.0, "u8p": 128.0}


class AvAnalyzer:
    """AudioAnalyzer: decodes with PyAV (FFmpeg), measures with numpy and scipy."""

    def analyze(self, path: Path) -> AudioAnalysis:
        try:
            with av.open(str(path)) as container:
                if not container.streams.audio:
                    raise InvalidMedia("the file has no audio stream")
                stream = container.streams.audio[0]
                return _measure(container, stream)
        except InvalidMedia:
            raise
        except Exception as e:  # PyAV raises FFmpegError, OSError, ValueError...
            raise InvalidMedia(f"the audio cannot be decoded ({e})") from e


def _measure(container: Any, stream: Any) -> AudioAnalysis:
    meter: _Meter | None = None
    resampler = None
    if (stream.channels or 0) > 2:  # surround: measured as its stereo downmix
        resampler = av.AudioResampler(format="fltp", layout="stereo")
    chunk: list[np.ndarray[Any, Any]] = []  # frames are measured ~1 s at a time
    size = 0
    for frame in container.decode(stream):
        for part in resampler.resample(frame) if resampler else (frame,):
            samples = _planar(part)
            if meter is None:
                meter = _Meter(part.sample_rate, samples.shape[0], _expected(container, stream))
            chunk.append(samples[: meter.channels])
            size += samples.shape[1]
            if size >= _CHUNK:
                meter.add(np.concatenate(chunk, axis=1))
                chunk, size = [], 0
    if meter is not None and chunk:
        meter.add(np.concatenate(chunk, axis=1))
    if meter is None or meter.samples == 0:
        raise InvalidMedia("the file contains no audio data")
    return meter.result()


def _expected(container: Any, stream: Any) -> int:
    """The number of samples the headers promise (0 when they do not say)."""
    rate = stream.sample_rate or 0
    if stream.duration and stream.time_base:
        return int(stream.duration * stream.time_base * rate)
    return int(container.duration / av.time_base * rate) if container.duration else 0


def _planar(frame: Any) -> np.ndarray[Any, Any]:
    """The frame as float32 samples in [-1, 1], one row per channel."""
    data: np.ndarray[Any, Any] = frame.to_ndarray()
    name = frame.format.name
    channels = len(frame.layout.channels)
    if not frame.format.is_planar:
        data = data.reshape(-1, channels).T
    if name.startswith("u8"):
        data = data.astype(np.float32) - 128.0
    if name in _SCALES:
        data = data / _SCALES[name]
    return data.astype(np.float32, copy=False)


class _Meter:
    """Running sums over the decoded frames."""

    def __init__(self, rate: int, channels: int, expected: int) -> None:
        self.rate, self.channels, self.samples = rate, channels, 0
        filters = pyloudnorm.Meter(rate)._filters.values()
        self._sos = np.array([[*f.b, *f.a] for f in filters], dtype=np.float64)
        self._sos_state = np.zeros((len(self._sos), channels, 2))
        self._step = round(_STEP_S * rate)  # samples in one 100 ms sum
        self._sums: list[np.ndarray[Any, Any]] = []  # per channel, one per 100 ms
        self._pending = np.zeros((channels, 0))
        self._fir = (signal.firwin(OVERSAMPLE * _TAPS_PER_PHASE, 1 / OVERSAMPLE)
                     * OVERSAMPLE).astype(np.float32)
        self._history = np.zeros((channels, _TAPS_PER_PHASE), dtype=np.float32)
        # the most an output can exceed its largest input: the largest phase's |sum|
        self._gain = float(max(np.abs(self._fir[p::OVERSAMPLE]).sum()
                               for p in range(OVERSAMPLE)))
        self.true_peak = 0.0
        self._bucket = max(1, expected // (WAVEFORM_POINTS * 4)) if expected else 64
        self._mins: list[np.ndarray[Any, Any]] = []
        self._maxs: list[np.ndarray[Any, Any]] = []
        # waveform extremes of the samples not yet in a whole bucket
        self._open_high = self._open_low = np.zeros(0, dtype=np.float32)

    def add(self, samples: np.ndarray[Any, Any]) -> None:
        self.samples += samples.shape[1]
        self._loudness(samples)
        self._peak(samples)
        self._wave(samples)

    def _loudness(self, samples: np.ndarray[Any, Any]) -> None:
        weighted, self._sos_state = signal.sosfilt(self._sos, samples, axis=1,
                                                   zi=self._sos_state)
        data = np.concatenate([self._pending, weighted], axis=1)
        whole = data.shape[1] // self._step * self._step
        if whole:
            squares = np.square(data[:, :whole]).reshape(self.channels, -1, self._step)
            self._sums.append(squares.sum(axis=2))
        self._pending = data[:, whole:]

    def _peak(self, samples: np.ndarray[Any, Any]) -> None:
        """4x oversampled peak. Each frame is filtered after the last samples of the
        one before; only outputs whose inputs are all present are kept, and those of
        consecutive frames join without a gap.

        An interpolated sample is at most `_gain` times the largest input it is made
        of, so a stretch whose inputs stay under `true_peak / _gain` cannot raise the
        peak and is not oversampled (exact, not an estimate: most of a file is
        skipped once its loudest part has been seen)."""
        self.true_peak = max(self.true_peak, float(np.abs(samples).max(initial=0.0)))
        data = np.concatenate([self._history, samples], axis=1)
        level = np.abs(data).max(axis=0)
        taps, width = _TAPS_PER_PHASE, data.shape[1]
        start = taps - 1  # the first input whose outputs are kept
        while start < width - 1:
            end = min(start + _PEAK_BLOCK + 1, width)
            window = slice(start - taps + 1, end)  # every input these outputs are made of
            if float(level[window].max()) * self._gain > self.true_peak:
                upsampled = signal.upfirdn(self._fir, data[:, window], up=OVERSAMPLE, axis=1)
                keep = upsampled[:, (taps - 1) * OVERSAMPLE:(end - window.start - 1)
                                 * OVERSAMPLE]
                if keep.size:
                    self.true_peak = max(self.true_peak, float(np.abs(keep).max()))
            start = end - 1
        self._history = data[:, -taps:]

    def _wave(self, samples: np.ndarray[Any, Any]) -> None:
        high = np.concatenate([self._open_high, samples.max(axis=0)])
        low = np.concatenate([self._open_low, samples.min(axis=0)])
        whole = high.shape[0] // self._bucket * self._bucket
        if whole:
            self._maxs.append(high[:whole].reshape(-1, self._bucket).max(axis=1))
            self._mins.append(low[:whole].reshape(-1, self._bucket).min(axis=1))
        self._open_high, self._open_low = high[whole:], low[whole:]

    def result(self) -> AudioAnalysis:
        return AudioAnalysis(
            integrated_lufs=self._integrated(),
            true_peak_dbtp=_db(self.true_peak) if self.true_peak > 0 else None,
            duration=self.samples / self.rate,
            peaks=self._peaks(),
        )

    def _integrated(self) -> float | None:
        """pyloudnorm's gating over 400 ms blocks (four 100 ms sums) every 100 ms."""
        tail = np.square(self._pending).sum(axis=1, keepdims=True)
        sums = np.concatenate([*self._sums, tail], axis=1)  # (channels, n)
        seconds = self.samples / self.rate
        count = int(np.round((seconds - _BLOCK_S) / _STEP_S)) + 1
        if count <= 0:
            return None
        padded = np.concatenate([sums, np.zeros((self.channels, count + 4))], axis=1)
        z = (padded[:, :count] + padded[:, 1: count + 1] + padded[:, 2: count + 2]
             + padded[:, 3: count + 3]) / (_BLOCK_S * self.rate)
        weights = np.array(_CHANNEL_WEIGHTS[: self.channels])[:, None]
        with np.errstate(divide="ignore"):
            blocks = -0.691 + 10 * np.log10((weights * z).sum(axis=0))
        gated = blocks >= _ABSOLUTE_GATE
        if not gated.any():
            return None
        relative = _lufs((weights * z[:, gated].mean(axis=1, keepdims=True)).sum()) - 10
        gated &= blocks > relative
        if not gated.any():
            return None
        return round(_lufs((weights * z[:, gated].mean(axis=1, keepdims=True)).sum()), 2)

    def _peaks(self) -> list[tuple[float, float]]:
        """The buckets gathered into (at most) WAVEFORM_POINTS equal spans."""
        rest = [(self._open_low.min(keepdims=True), self._open_high.max(keepdims=True))] \
            if self._open_high.size else []
        mins = np.concatenate([*self._mins, *(r[0] for r in rest)])
        maxs = np.concatenate([*self._maxs, *(r[1] for r in rest)])
        count = min(WAVEFORM_POINTS, len(maxs))
        edges = np.arange(count) * len(maxs) // count
        lows, highs = np.minimum.reduceat(mins, edges), np.maximum.reduceat(maxs, edges)
        return [(round(float(lo), 4), round(float(hi), 4)) for lo, hi in zip(lows, highs,
                                                                           strict=True)]


def _lufs(power: float) -> float:
    return -0.691 + 10 * math.log10(power)


def _db(amplitude: float) -> float:
    return round(20 * math.log10(amplitude), 2)
