"""How a zone sounds: loudness matching, crossfade and announcement ducking.

Every track and announcement is measured once at ingest (integrated loudness,
ITU-R BS.1770 / EBU R128, and true peak). A zone plays music at its target
loudness and announcements `announcement_lift_lu` above it; the gain to reach
that is capped so the true peak stays under `PEAK_CEILING_DBTP`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from domain.playback import PlaybackError

PEAK_CEILING_DBTP = -1.0
DUCKING_MODES = ("pause", "duck")  # pause the music (as before) or lower it under speech

SOUND_DEFAULTS: dict[str, Any] = {
    "crossfade_s": 0,             # seconds two music tracks overlap (0-12)
    "ducking": "pause",           # what the music does during an announcement
    "duck_level": 20,             # the music's volume while ducked, percent of its own
    "target_lufs": -14.0,         # music loudness (LUFS)
    "announcement_lift_lu": 3.0,  # announcements this many LU above the music
}

SOUND_RANGES: dict[str, tuple[float, float]] = {
    "crossfade_s": (0, 12), "duck_level": (0, 100),
    "target_lufs": (-40, -5), "announcement_lift_lu": (0, 12),
}


def check_sound(changes: dict[str, Any]) -> dict[str, Any]:
    """The sound settings among `changes`, checked and in their stored types."""
    out: dict[str, Any] = {}
    for key, value in changes.items():
        if key == "ducking":
            if value not in DUCKING_MODES:
                raise PlaybackError(f"ducking must be one of {', '.join(DUCKING_MODES)},"
                                    f" not {value!r}", field=key)
            out[key] = value
        elif key in SOUND_RANGES:
            low, high = SOUND_RANGES[key]
            if isinstance(value, bool) or not isinstance(value, int | float) \
                    or not low <= value <= high:
                raise PlaybackError(f"{key} must be a number from {low:g} to {high:g},"
                                    f" not {value!r}", field=key)
            whole = key in ("crossfade_s", "duck_level")
            if whole and value != int(value):
                raise PlaybackError(f"{key} must be a whole number, not {value!r}",
                                    field=key)
            out[key] = int(value) if whole else float(value)
    return out


@dataclass(frozen=True)
class Loudness:
    """A file's measured loudness."""

    integrated_lufs: float
    true_peak_dbtp: float


def gain_db(loudness: Loudness | None, target_lufs: float) -> float:
    """The gain that brings `loudness` to `target_lufs`, capped so the true peak
    stays under the ceiling; 0 for a file not measured yet (or silent)."""
    if loudness is None or loudness.integrated_lufs == float("-inf"):
        return 0.0
    gain = target_lufs - loudness.integrated_lufs
    gain = min(gain, PEAK_CEILING_DBTP - loudness.true_peak_dbtp)
    return round(gain, 2)
