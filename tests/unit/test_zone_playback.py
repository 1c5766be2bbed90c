"""Examples of how a Zone plays: continuous looping, the clock, device reports,
announcements that interrupt and resume, removed tracks, and refused commands.

Every example uses fixed, timezone-aware times and a seeded random generator,
so the shuffled orders are the same on every run.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from uuid import UUID

import pytest

from application.playback import PlaybackApplication, zone_state
from domain.base import Actor, ActorKind, CommandContext, acting
from domain.playback import (
    AnnouncementItem,
    InvalidSeek,
    InvalidVolume,
    PlaybackError,
    QueueEmpty,
    QueueItem,
)
from domain.zone import Zone

T0 = datetime(2026, 1, 1, 12, tzinfo=UTC)
CTX = CommandContext(Actor(ActorKind.USER, "manager-1"), "request-1")
CLIENT = UUID(int=7)


@pytest.fixture(autouse=True)
def _acting_as_a_manager() -> Iterator[None]:
    with acting(CTX):
        yield


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def track(n: int, seconds: int = 60) -> QueueItem:
    return QueueItem(UUID(int=n), seconds * 1000, f"media/{n}.mp3", "audio/mpeg", f"Track {n}")


def announcement(n: int, seconds: int = 10) -> AnnouncementItem:
    return AnnouncementItem(UUID(int=1000 + n), seconds * 1000, f"ann/{n}.mp3", "audio/mpeg",
                            f"Announcement {n}")


def playing(*tracks: QueueItem, shuffle: bool = False, seed: int = 0) -> Zone:
    zone = Zone.create(client_id=CLIENT, name="Shop floor")
    zone.play(list(tracks), shuffle=shuffle, source={"kind": "folder"},
              rng=random.Random(seed), now=T0)
    return zone


def current_id(zone: Zone) -> int | None:
    return None if zone.current is None else zone.current.item_id.int


def playable_order(zone: Zone) -> list[int]:
    return [i.item_id.int for i in zone.queue if i.item_id not in zone.removed]


# -- continuous playback --------------------------------------------------------------


def test_playing_starts_the_queue_from_the_top_now() -> None:
    zone = playing(track(1), track(2))
    assert (current_id(zone), zone.music_playing, zone.position_ms) == (1, True, 0)
    assert zone.position_at == T0 and zone.play_seq == 1
    assert zone.ends_at() == at(60)


def test_duplicate_and_silent_tracks_are_queued_once_or_not_at_all() -> None:
    zone = playing(track(1), track(2), track(1), track(3, seconds=0), track(2))
    assert playable_order(zone) == [1, 2]


def test_continuous_playback_loops_back_to_the_first_track() -> None:
    zone = playing(track(1, 30), track(2, 40), track(3, 50))
    heard, clock = [], 0
    for _ in range(7):
        heard.append(current_id(zone))
        clock += zone.current.duration_ms // 1000  # type: ignore[union-attr]
        assert zone.tick(at(clock), random.Random(0)) == 1
        assert zone.position_at == at(clock) and zone.position_ms == 0
    assert heard == [1, 2, 3, 1, 2, 3, 1]
    assert zone.music_playing


def test_a_clock_tick_plays_through_several_tracks_at_once() -> None:
    zone = playing(track(1, 30), track(2, 40), track(3, 50))
    assert zone.tick(at(100), random.Random(0)) == 2
    assert current_id(zone) == 3
    assert zone.position_at == at(70)  # track 3 began when track 2 ended, not at the tick
    assert zone.music_position(at(100)) == 30_000
    changes = [e for e in zone.collect_events() if isinstance(e, Zone.TrackChanged)]
    assert [(e.queue_position, e.at, e.reason) for e in changes] == [
        (1, at(30), "ended"), (2, at(70), "ended")]


def test_a_tick_before_the_end_changes_nothing_and_a_tick_at_the_end_moves_on() -> None:
    zone = playing(track(1, 30), track(2, 40))
    assert zone.tick(at(30) - timedelta(milliseconds=1), random.Random(0)) == 0
    assert current_id(zone) == 1
    assert zone.tick(at(30), random.Random(0)) == 1
    assert current_id(zone) == 2


def test_a_long_tick_wraps_around_the_queue_several_times() -> None:
    zone = playing(track(1, 10), track(2, 20))
    assert zone.tick(at(95), random.Random(0)) == 6  # 10, 30, 40, 60, 70, 90
    assert (current_id(zone), zone.position_at) == (1, at(90))


def test_a_paused_zone_does_not_move_with_the_clock() -> None:
    zone = playing(track(1, 30), track(2, 40))
    zone.pause(at(10))
    assert zone.tick(at(500), random.Random(0)) == 0
    assert (current_id(zone), zone.music_position(at(500)), zone.ends_at()) == (1, 10_000, None)
    zone.resume(at(600))
    assert zone.ends_at() == at(620)


@pytest.mark.parametrize("size", [2, 3, 5])
def test_a_reshuffled_queue_never_starts_with_the_track_that_just_ended(size: int) -> None:
    for seed in range(150):
        rng = random.Random(seed)
        zone = playing(*(track(n) for n in range(1, size + 1)), shuffle=True, seed=seed)
        for _ in range(3 * size):
            ending, last = zone.current, zone.queue_position == len(zone.queue) - 1
            zone.next(T0, rng)
            assert sorted(playable_order(zone)) == list(range(1, size + 1))
            if last:
                assert zone.queue_position == 0 and zone.current != ending, seed


def test_a_single_shuffled_track_loops_on_itself() -> None:
    zone = playing(track(1, 30), shuffle=True)
    assert zone.tick(at(90), random.Random(0)) == 3
    assert (current_id(zone), zone.position_at, zone.play_seq) == (1, at(90), 4)


def test_previous_goes_back_one_track_and_wraps_to_the_end() -> None:
    zone = playing(track(1), track(2), track(3))
    zone.previous(at(5))
    assert (current_id(zone), zone.position_at, zone.position_ms) == (3, at(5), 0)
    zone.previous(at(6))
    assert current_id(zone) == 2


# -- device reports -------------------------------------------------------------------


def test_two_devices_reporting_the_same_end_advance_the_zone_once() -> None:
    zone = playing(track(1), track(2), track(3))
    seq, position = zone.play_seq, zone.queue_position
    first = zone.report_ended(play_seq=seq, queue_position=position, now=at(60),
                              rng=random.Random(0))
    version = zone.version
    second = zone.report_ended(play_seq=seq, queue_position=position, now=at(60.2),
                               rng=random.Random(0))
    assert (first, second) == (True, False)
    assert current_id(zone) == 2 and zone.version == version


def test_a_stale_report_changes_nothing() -> None:
    zone = playing(track(1, 30), track(2, 40), track(3, 50))
    stale = zone.play_seq
    zone.tick(at(30), random.Random(0))  # the server's clock moved on first
    version = zone.version
    assert not zone.report_ended(play_seq=stale, queue_position=None, now=at(31),
                                 rng=random.Random(0))
    assert (current_id(zone), zone.version) == (2, version)


def test_a_report_naming_another_queue_position_changes_nothing() -> None:
    zone = playing(track(1), track(2))
    zone.collect_events()
    assert not zone.report_ended(play_seq=zone.play_seq, queue_position=1, now=at(60),
                                 rng=random.Random(0))
    assert current_id(zone) == 1 and not zone.pending_events


def test_a_report_from_a_paused_zone_changes_nothing() -> None:
    zone = playing(track(1), track(2))
    zone.pause(at(5))
    assert not zone.report_ended(play_seq=zone.play_seq, queue_position=0, now=at(60),
                                 rng=random.Random(0))
    assert current_id(zone) == 1


def test_a_report_at_the_end_of_the_queue_loops_it() -> None:
    zone = playing(track(1), track(2))
    zone.next(at(1), random.Random(0))
    assert zone.report_ended(play_seq=zone.play_seq, queue_position=1, now=at(61),
                             rng=random.Random(0))
    assert (current_id(zone), zone.position_at) == (1, at(61))


# -- announcements --------------------------------------------------------------------


def test_an_announcement_interrupts_the_music_and_it_resumes_where_it_was() -> None:
    zone = playing(track(1, 60), track(2))
    zone.play_announcement(announcement(1, 10), at(25))
    assert zone.announcement == announcement(1, 10) and zone.is_playing
    assert zone.music_position(at(30)) == 25_000  # frozen while the announcement plays
    assert zone.ends_at() == at(35)
    assert zone.tick(at(35), random.Random(0)) == 1
    assert zone.announcement is None
    assert (current_id(zone), zone.position_ms, zone.position_at) == (1, 25_000, at(35))
    assert zone.music_playing and zone.ends_at() == at(70)


def test_a_paused_zone_stays_paused_after_an_announcement() -> None:
    zone = playing(track(1, 60), track(2))
    zone.pause(at(20))
    zone.play_announcement(announcement(1, 10), at(40))
    zone.tick(at(50), random.Random(0))
    assert zone.announcement is None and not zone.music_playing
    assert (current_id(zone), zone.music_position(at(99))) == (1, 20_000)


def test_announcements_arriving_meanwhile_queue_up_in_order() -> None:
    zone = playing(track(1, 60))
    zone.play_announcement(announcement(1, 10), at(5))
    zone.play_announcement(announcement(2, 20), at(8))
    zone.play_announcement(announcement(3, 5), at(9))
    assert zone.pending == [announcement(2, 20), announcement(3, 5)]
    heard = []
    for end in (15, 35, 40):
        heard.append(zone.announcement)
        assert zone.ends_at() == at(end)
        assert zone.tick(at(end), random.Random(0)) == 1
    assert heard == [announcement(1, 10), announcement(2, 20), announcement(3, 5)]
    assert (zone.announcement, zone.pending, zone.position_ms) == (None, [], 5_000)
    assert zone.ends_at() == at(40 + 55)


def test_next_during_an_announcement_skips_the_announcement_not_the_track() -> None:
    zone = playing(track(1, 60), track(2))
    zone.play_announcement(announcement(1), at(10))
    zone.play_announcement(announcement(2), at(11))
    zone.next(at(12), random.Random(0))
    assert (zone.announcement, zone.announcement_started_at) == (announcement(2), at(12))
    zone.next(at(13), random.Random(0))
    assert zone.announcement is None
    assert (current_id(zone), zone.position_ms, zone.position_at) == (1, 10_000, at(13))


def test_pausing_during_an_announcement_keeps_the_music_paused_after_it() -> None:
    zone = playing(track(1, 60), track(2))
    zone.play_announcement(announcement(1, 10), at(30))
    zone.pause(at(35))
    zone.tick(at(40), random.Random(0))
    assert zone.announcement is None and not zone.music_playing
    assert zone.music_position(at(90)) == 30_000  # paused where the announcement froze it


def test_music_commands_during_an_announcement_change_the_music_underneath() -> None:
    zone = playing(track(1, 60), track(2, 60))
    zone.pause(at(5))
    zone.play_announcement(announcement(1, 10), at(30))
    zone.resume(at(31))
    zone.seek(12_000, at(32))
    seq = zone.play_seq
    zone.next(at(33), random.Random(0))  # skips the announcement, not the music
    assert zone.play_seq == seq + 1
    assert (current_id(zone), zone.music_playing, zone.position_ms) == (1, True, 12_000)
    assert zone.ends_at() == at(33 + 48)


def test_previous_and_play_during_an_announcement_do_not_cut_it_short() -> None:
    zone = playing(track(1, 60), track(2, 60))
    zone.play_announcement(announcement(1, 10), at(30))
    seq = zone.play_seq
    zone.previous(at(31))
    zone.play([track(5), track(6)], shuffle=False, source={}, rng=random.Random(0), now=at(32))
    assert zone.announcement == announcement(1, 10) and zone.play_seq == seq
    zone.tick(at(40), random.Random(0))
    assert (current_id(zone), zone.position_ms, zone.position_at) == (5, 0, at(40))


def test_a_device_report_during_an_announcement_ends_the_announcement_once() -> None:
    zone = playing(track(1, 60))
    zone.play_announcement(announcement(1), at(10))
    seq = zone.play_seq
    reports = [zone.report_ended(play_seq=seq, queue_position=None, now=at(20),
                                 rng=random.Random(0)) for _ in range(2)]
    assert reports == [True, False]
    assert zone.announcement is None and zone.position_ms == 10_000


def test_an_announcement_without_audio_is_refused() -> None:
    zone = playing(track(1))
    zone.collect_events()
    with pytest.raises(PlaybackError):
        zone.play_announcement(announcement(1, 0), at(1))
    assert not zone.pending_events


# -- removed tracks -------------------------------------------------------------------


def test_removed_tracks_are_skipped_and_never_become_current() -> None:
    zone = playing(track(1, 10), track(2, 10), track(3, 10), track(4, 10))
    zone.drop_tracks({UUID(int=2), UUID(int=4)}, at(1), random.Random(0))
    heard = []
    for second in range(10, 70, 10):
        zone.tick(at(second), random.Random(0))
        heard.append(current_id(zone))
    assert heard == [3, 1, 3, 1, 3, 1]
    zone.previous(at(61))
    assert current_id(zone) == 3


def test_removing_the_current_track_moves_on_at_once() -> None:
    zone = playing(track(1, 60), track(2, 60), track(3, 60))
    seq = zone.play_seq
    zone.drop_tracks({UUID(int=1), UUID(int=2)}, at(20), random.Random(0))
    assert (current_id(zone), zone.position_at, zone.position_ms) == (3, at(20), 0)
    assert zone.play_seq == seq + 1 and zone.music_playing


def test_removed_tracks_leave_a_reshuffled_queue() -> None:
    zone = playing(track(1, 10), track(2, 10), track(3, 10), shuffle=True, seed=3)
    zone.drop_tracks({zone.queue[-1].item_id}, at(1), random.Random(0))
    zone.tick(at(20), random.Random(0))
    assert len(zone.queue) == 2 and not zone.removed


def test_removing_every_track_stops_the_music() -> None:
    zone = playing(track(1), track(2))
    zone.drop_tracks({UUID(int=1), UUID(int=2), UUID(int=9)}, at(20), random.Random(0))
    assert (zone.current, zone.music_playing, zone.is_playing, zone.ends_at()) == (
        None, False, False, None)
    for command in (lambda: zone.resume(at(21)), lambda: zone.next(at(21), random.Random(0)),
                    lambda: zone.previous(at(21)), lambda: zone.seek(0, at(21))):
        with pytest.raises(QueueEmpty):
            command()
    assert zone_state(zone)["next"] is None


def test_removing_tracks_that_are_not_queued_records_nothing() -> None:
    zone = playing(track(1), track(2))
    zone.collect_events()
    zone.drop_tracks({UUID(int=3)}, at(1), random.Random(0))
    zone.drop_tracks({UUID(int=2)}, at(1), random.Random(0))
    zone.drop_tracks({UUID(int=2)}, at(2), random.Random(0))
    assert len(zone.collect_events()) == 1


# -- refused commands -----------------------------------------------------------------


@pytest.mark.parametrize("position", [-1, 60_000, 10**9])
def test_a_seek_outside_the_track_is_refused(position: int) -> None:
    zone = playing(track(1, 60))
    zone.collect_events()
    with pytest.raises(InvalidSeek):
        zone.seek(position, at(1))
    assert not zone.pending_events


@pytest.mark.parametrize("position", [0, 59_999])
def test_a_seek_inside_the_track_moves_the_position(position: int) -> None:
    zone = playing(track(1, 60))
    zone.seek(position, at(5))
    assert (zone.position_ms, zone.position_at) == (position, at(5))
    assert zone.ends_at() == at(5) + timedelta(milliseconds=60_000 - position)


@pytest.mark.parametrize("volume", [-1, 101, 1000])
def test_a_volume_outside_0_to_100_is_refused(volume: int) -> None:
    zone = playing(track(1))
    zone.collect_events()
    with pytest.raises(InvalidVolume):
        zone.set_volume(volume)
    assert not zone.pending_events and zone.volume == 70


def test_volume_bounds_are_accepted_and_an_unchanged_volume_records_nothing() -> None:
    zone = playing(track(1))
    zone.collect_events()
    zone.set_volume(0)
    zone.set_volume(100)
    zone.set_volume(100)
    assert zone.volume == 100 and len(zone.collect_events()) == 2


def test_an_empty_zone_refuses_to_resume_skip_go_back_or_seek() -> None:
    zone = Zone.create(client_id=CLIENT, name="Lobby")
    for command in (lambda: zone.resume(T0), lambda: zone.next(T0, random.Random(0)),
                    lambda: zone.previous(T0), lambda: zone.seek(0, T0)):
        with pytest.raises(QueueEmpty):
            command()
    zone.pause(T0)  # nothing plays: nothing to record
    assert zone.version == 1 and len(zone.pending_events) == 1


@pytest.mark.parametrize("items", [[], [track(1, 0)]])
def test_playing_nothing_playable_is_refused(items: list[QueueItem]) -> None:
    zone = Zone.create(client_id=CLIENT, name="Lobby")
    with pytest.raises(QueueEmpty):
        zone.play(items, shuffle=False, source={}, rng=random.Random(0), now=T0)
    assert zone.version == 1


# -- what devices see ------------------------------------------------------------------


def test_the_zone_state_names_the_current_and_next_track_and_when_the_current_ends() -> None:
    zone = playing(track(1, 30), track(2, 40), track(3, 50))
    zone.seek(10_000, at(5))
    state = zone_state(zone)
    assert (state["current"]["item_id"], state["next"]["item_id"]) == (str(UUID(int=1)),
                                                                       str(UUID(int=2)))
    assert state["ends_at"] == at(25).isoformat()
    zone.tick(datetime.fromisoformat(state["ends_at"]), random.Random(0))
    assert zone_state(zone)["current"] == state["next"]


def test_the_zone_state_loops_its_next_track_and_skips_removed_ones() -> None:
    zone = playing(track(1, 30), track(2, 40), track(3, 50))
    zone.drop_tracks({UUID(int=1)}, at(1), random.Random(0))
    zone.next(at(2), random.Random(0))
    assert zone_state(zone)["next"]["item_id"] == str(UUID(int=2))


def test_the_zone_state_during_an_announcement_ends_with_the_announcement() -> None:
    zone = playing(track(1, 30), track(2, 40))
    zone.play_announcement(announcement(1, 10), at(5))
    state = zone_state(zone)
    assert state["announcement"]["started_at"] == at(5).isoformat()
    assert state["ends_at"] == at(15).isoformat() and state["is_playing"]
    assert state["current"]["item_id"] == str(UUID(int=1)) and state["position_ms"] == 5_000


def test_a_paused_zone_state_has_no_end() -> None:
    zone = playing(track(1, 30))
    zone.pause(at(3))
    state = zone_state(zone)
    assert (state["ends_at"], state["is_playing"], state["position_ms"]) == (None, False, 3_000)


def test_the_zone_state_next_track_is_what_plays_next_in_a_shuffled_queue() -> None:
    mismatches = 0
    for seed in range(20):
        zone = playing(track(1), track(2), track(3), track(4), shuffle=True, seed=seed)
        zone.next(at(1), random.Random(seed))
        zone.next(at(2), random.Random(seed))
        zone.next(at(3), random.Random(seed))  # the last track of the round
        announced = zone_state(zone)["next"]
        zone.next(at(4), random.Random(seed))
        mismatches += announced is not None and announced != zone_state(zone)["current"]
    assert mismatches == 0


def test_the_music_position_counts_every_millisecond() -> None:
    zone = playing(track(1, 60))
    zone.pause(T0 + timedelta(milliseconds=1001))
    assert zone.position_ms == 1001


def test_pausing_after_a_track_ended_but_before_the_tick_stays_inside_a_track() -> None:
    now = [T0]
    app = PlaybackApplication(env={"PERSISTENCE_MODULE": "eventsourcing.popo"},
                              clock=lambda: now[0], rng=lambda: random.Random(0))
    zone, _ = app.create_zone(CTX, CLIENT, name="Shop floor")
    app.play(CTX, None, zone.id, [track(1, 30), track(2, 40)], shuffle=False, source={})
    now[0] = at(31)  # the ticker has not run since track 1 ended
    zone, _ = app.pause(CTX, None, zone.id)
    assert zone.current is not None
    assert zone.position_ms < zone.current.duration_ms  # track 1 at 31 s of 30 s


# -- provenance and storage -----------------------------------------------------------


def test_every_event_names_who_caused_it() -> None:
    ctx = CommandContext(Actor(ActorKind.DEVICE, "speaker-3"), "report-9")
    zone = playing(track(1, 30), track(2))
    with acting(ctx):
        zone.report_ended(play_seq=zone.play_seq, queue_position=0, now=at(30),
                          rng=random.Random(0))
    stamps = [(e.actor_kind, e.actor_id, e.correlation_id) for e in zone.collect_events()]
    assert stamps == [("user", "manager-1", "request-1")] * 2 + [
        ("device", "speaker-3", "report-9")]


def test_a_stored_zone_loads_back_equal_through_the_application() -> None:
    now = [T0]
    app = PlaybackApplication(env={"PERSISTENCE_MODULE": "eventsourcing.popo"},
                              clock=lambda: now[0], rng=lambda: random.Random(1))
    zone, _ = app.create_zone(CTX, CLIENT, name="Shop floor", timezone="Europe/London")
    app.play(CTX, None, zone.id, [track(1, 30), track(2, 40), track(3, 20)], shuffle=True,
             source={"folders": ["a"]})
    app.play_announcement(CTX, None, [zone.id], announcement(1, 5))
    app.drop_tracks(CTX, [zone.id], {UUID(int=2)})
    now[0] = at(200)
    zone, position = app.tick(CTX, zone.id)
    assert position is not None
    assert zone_state(app.get_zone(zone.id)) == zone_state(zone)
    assert app.get_zone(zone.id) == zone
