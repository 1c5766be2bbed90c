"""Examples of how a zone sounds: announcements that duck the music instead of
pausing it, crossfades between tracks, and the settings devices are given."""

from __future__ import annotations

import random
from collections.abc import Iterator
from typing import Any

import pytest

from application.playback import zone_state
from domain.base import acting
from domain.playback import PlaybackError
from domain.sound import SOUND_DEFAULTS
from domain.zone import Zone
from tests.unit.test_zone_playback import CTX, announcement, at, current_id, playing, track


@pytest.fixture(autouse=True)
def _acting_as_a_manager() -> Iterator[None]:
    with acting(CTX):
        yield


def ducking(*tracks: Any, **sound: Any) -> Zone:
    zone = playing(*tracks)
    zone.change(ducking="duck", duck_level=20, **sound)
    return zone


def replayed(zone: Zone) -> Zone:
    events = zone.collect_events()
    copy = None
    for e in events:
        copy = e.mutate(copy)
    assert isinstance(copy, Zone)
    return copy


# -- ducking --------------------------------------------------------------------------


def test_a_ducked_announcement_leaves_the_music_playing_underneath() -> None:
    zone = ducking(track(1), track(2))
    zone.play_announcement(announcement(1, 10), at(25))
    assert zone.music_ducked and zone.music_playing
    assert zone.music_position(at(30)) == 30_000  # advancing, not frozen at 25 s
    assert zone.ends_at() == at(35)  # the announcement ends first
    zone.tick(at(35), random.Random(0))
    assert zone.announcement is None and not zone.music_ducked
    assert (zone.position_ms, zone.position_at) == (35_000, at(35))
    assert zone.music_position(at(40)) == 40_000 and zone.ends_at() == at(60)


def test_a_paused_zone_stays_paused_and_still_under_a_ducked_announcement() -> None:
    zone = ducking(track(1))
    zone.pause(at(20))
    zone.play_announcement(announcement(1, 10), at(40))
    assert zone.music_position(at(45)) == 20_000
    zone.tick(at(50), random.Random(0))
    assert zone.announcement is None and not zone.music_playing
    assert zone.music_position(at(90)) == 20_000


def test_a_track_ending_under_a_ducked_announcement_hands_over_to_the_next() -> None:
    zone = ducking(track(1), track(2))
    zone.play_announcement(announcement(1, 10), at(55))
    seq = zone.play_seq
    assert zone.ends_at() == at(60)  # the music's end comes before the announcement's
    zone.tick(at(62), random.Random(0))
    assert current_id(zone) == 2 and zone.announcement == announcement(1, 10)
    assert zone.play_seq == seq  # a device's report still names the announcement
    assert zone.music_position(at(62)) == 2_000
    zone.tick(at(65), random.Random(0))
    assert zone.announcement is None and zone.music_position(at(70)) == 10_000


def test_queued_announcements_keep_the_music_ducked_until_the_last_ends() -> None:
    zone = ducking(track(1, 120))
    zone.play_announcement(announcement(1, 10), at(5))
    zone.play_announcement(announcement(2, 20), at(8))
    zone.change(ducking="pause")  # takes effect at the next announcement
    zone.tick(at(15), random.Random(0))
    assert zone.announcement == announcement(2, 20) and zone.music_ducked
    assert zone.music_position(at(20)) == 20_000
    zone.tick(at(35), random.Random(0))
    assert zone.announcement is None and zone.position_ms == 35_000
    zone.play_announcement(announcement(3, 5), at(40))
    assert not zone.music_ducked and zone.music_position(at(44)) == 40_000


def test_a_pausing_zone_still_freezes_the_music_under_an_announcement() -> None:
    zone = playing(track(1), track(2))
    zone.play_announcement(announcement(1, 10), at(25))
    assert not zone.music_ducked and zone.music_position(at(30)) == 25_000
    zone.tick(at(35), random.Random(0))
    assert zone.music_position(at(40)) == 30_000


def test_skipping_a_ducked_announcement_brings_the_music_back_where_it_has_got_to() -> None:
    zone = ducking(track(1), track(2))
    zone.play_announcement(announcement(1, 10), at(10))
    zone.next(at(13), random.Random(0))
    assert zone.announcement is None and current_id(zone) == 1
    assert zone.music_position(at(13)) == 13_000


def test_replaying_a_ducking_zone_gives_the_same_state() -> None:
    zone = ducking(track(1), track(2))
    zone.play_announcement(announcement(1, 10), at(55))
    zone.tick(at(62), random.Random(0))
    copy = replayed(zone)
    assert copy.__dict__ == zone.__dict__


def test_a_version_2_snapshot_is_not_ducking() -> None:
    state: dict[str, Any] = {}
    Zone.upcast_v2_v3(state)
    assert state == {"music_ducked": False}


# -- crossfade ------------------------------------------------------------------------


def test_with_a_crossfade_the_next_track_takes_over_before_the_current_one_ends() -> None:
    zone = playing(track(1), track(2))
    zone.change(crossfade_s=6)
    assert zone.ends_at() == at(54)
    zone.tick(at(55), random.Random(0))
    assert current_id(zone) == 2 and (zone.position_ms, zone.position_at) == (0, at(54))


def test_a_crossfade_is_at_most_half_a_track_and_never_before_the_position() -> None:
    zone = playing(track(1, 8), track(2))
    zone.change(crossfade_s=12)
    assert zone.ends_at() == at(4)
    zone = playing(track(1), track(2))
    zone.change(crossfade_s=10)
    zone.seek(55_000, at(1))
    assert zone.ends_at() == at(1)


# -- settings -------------------------------------------------------------------------


def test_the_zone_state_carries_the_sound_settings_and_how_the_music_sounds_now() -> None:
    zone = ducking(track(1), crossfade_s=4)
    state = zone_state(zone)
    assert state["sound"] == {**SOUND_DEFAULTS, "ducking": "duck", "duck_level": 20,
                              "crossfade_s": 4}
    zone.play_announcement(announcement(1), at(5))
    state = zone_state(zone)
    assert state["announcement"]["ducking"] == "duck"
    assert (state["position_ms"], state["position_at"]) == (5_000, at(5).isoformat())


@pytest.mark.parametrize("change", [{"ducking": "mute"}, {"duck_level": 101},
                                    {"crossfade_s": 2.5}, {"target_lufs": -50}])
def test_bad_sound_settings_are_refused(change: dict[str, Any]) -> None:
    zone = playing(track(1))
    with pytest.raises(PlaybackError, match=next(iter(change))):
        zone.change(**change)
