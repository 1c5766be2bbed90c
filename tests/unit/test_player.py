"""The player on its own (domain/player.py): no aggregate, no events, no store.

A bare `Player` applies its transitions directly. The examples show its rules;
the state machine drives it with generated commands and checks its invariants
(the position is never negative and lies inside the current track, the queue
position stays in range, announcements start and finish in the order they came,
replaying its transitions gives the same player), and that a Zone given the same
commands ends with the same player state.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import timedelta
from typing import Any
from uuid import UUID

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from domain.base import Actor, ActorKind, CommandContext, acting
from domain.playback import AnnouncementItem, InvalidSeek, PlaybackError, QueueEmpty, QueueItem
from domain.player import MAX_CATCH_UP, Player
from domain.zone import Zone
from tests.unit.test_zone_playback import T0, announcement, at, track

CTX = CommandContext(Actor(ActorKind.SYSTEM, "player-test"), "player-test")
TRANSITIONS = ("_playback_started", "_paused", "_resumed", "_seeked", "_track_changed",
               "_tracks_removed", "_announcement_started", "_announcement_queued",
               "_announcement_finished")


def playing(*tracks: QueueItem, ducking: str = "pause", crossfade_s: int = 0) -> Player:
    player = Player()
    player.ducking, player.crossfade_s = ducking, crossfade_s
    player.play(list(tracks), shuffle=False, source={}, rng=random.Random(0), now=T0)
    return player


def current_id(player: Player) -> int | None:
    return None if player.current is None else player.current.item_id.int


# -- examples --------------------------------------------------------------------------


def test_a_bare_player_plays_its_queue_through_and_loops() -> None:
    player = playing(track(1), track(2, seconds=30))
    assert (current_id(player), player.ends_at()) == (1, at(60))
    assert player.tick(at(95), random.Random(0)) == 2
    assert (current_id(player), player.position_at, player.tracks_played) == (1, at(90), 2)


def test_an_announcement_freezes_the_music_which_resumes_where_it_was() -> None:
    player = playing(track(1))
    player.play_announcement(announcement(1), at(20))
    player.play_announcement(announcement(2, seconds=5), at(25))
    assert player.music_position(at(29)) == 20_000 and player.ends_at() == at(30)
    player.tick(at(40), random.Random(0))  # both end: first at 30 s, then at 35 s
    assert player.announcement is None and player.pending == []
    assert (player.position_ms, player.position_at, player.music_playing) == (20_000, at(35),
                                                                              True)


def test_a_ducking_player_plays_the_music_on_under_its_announcements() -> None:
    player = playing(track(1), ducking="duck")
    player.play_announcement(announcement(1), at(20))
    assert player.music_ducked and player.music_position(at(25)) == 25_000
    player.tick(at(30), random.Random(0))
    assert player.music_position(at(30)) == 30_000 and not player.music_ducked


def test_a_crossfade_hands_over_before_the_track_ends_but_never_before_its_middle() -> None:
    assert playing(track(1), track(2), crossfade_s=5).ends_at() == at(55)
    assert playing(track(1, seconds=6), track(2), crossfade_s=5).ends_at() == at(3)


def test_only_a_report_naming_what_is_audible_now_counts() -> None:
    player, rng = playing(track(1), track(2)), random.Random(0)
    seq = player.play_seq
    assert not player.report_ended(play_seq=seq, queue_position=1, now=at(10), rng=rng)
    assert player.report_ended(play_seq=seq, queue_position=0, now=at(10), rng=rng)
    assert not player.report_ended(play_seq=seq, queue_position=0, now=at(10), rng=rng)
    assert current_id(player) == 2


def test_a_tick_plays_through_at_most_its_catch_up_limit() -> None:
    player = playing(track(1, seconds=1), track(2, seconds=1))
    assert player.tick(at(10 * MAX_CATCH_UP), random.Random(0)) == MAX_CATCH_UP


def test_refused_commands_change_nothing() -> None:
    player = Player()
    for command in (lambda: player.resume(T0), lambda: player.seek(0, T0),
                    lambda: player.next(T0, random.Random(0)), lambda: player.previous(T0)):
        with pytest.raises(QueueEmpty):
            command()
    with pytest.raises(PlaybackError):
        player.play_announcement(announcement(1, seconds=0), T0)
    assert vars(player) == vars(Player())


# -- the state machine -------------------------------------------------------------------


class RecordingPlayer(Player):
    """A player that logs each transition, so that replaying the log can be checked."""

    def __init__(self) -> None:
        super().__init__()
        self.log: list[tuple[str, dict[str, Any]]] = []


def _recorded(name: str) -> Callable[..., None]:
    def transition(self: RecordingPlayer, **kwargs: Any) -> None:
        self.log.append((name, kwargs))
        getattr(Player, name)(self, **kwargs)
    return transition


for _name in TRANSITIONS:
    setattr(RecordingPlayer, _name, _recorded(_name))

POOL = 5
durations = st.lists(st.integers(5_000, 90_000), min_size=POOL, max_size=POOL)
indices = st.integers(0, POOL)  # POOL is the track without audio
advances = st.one_of(st.sampled_from([0, 1, 999]), st.integers(0, 60_000),
                     st.integers(0, 400_000))


class PlayerMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.now = T0
        self.player = RecordingPlayer()
        self.zone: Zone = None  # type: ignore[assignment]  # set by start
        self.rngs = (random.Random(0), random.Random(0))
        self.pool: list[QueueItem] = []
        self.asked: list[AnnouncementItem] = []  # accepted announcements, in order
        self.seen_play_seq = 0

    def both(self, command: Callable[[Player, random.Random], Any], catch_up: bool = True
             ) -> Any:
        """Run `command` on the player and on the zone: same answer, or same refusal
        (and a refused command changes nothing). With a crossfade, a command can make
        the handover due at once (a seek past it, or music resuming past it): the
        ticker then plays it, as `catch_up` does here."""
        answers = []
        self.zone.collect_events()
        for target, rng in ((self.player, self.rngs[0]), (self.zone, self.rngs[1])):
            logged = len(self.player.log)
            try:
                with acting(CTX):
                    answers.append(command(target, rng))
            except PlaybackError as error:
                answers.append(type(error))
                assert len(self.player.log) == logged and not self.zone.pending_events
            self.zone.collect_events()
        assert answers[0] == answers[1]
        if catch_up and self.player.crossfade_s:
            self.both(lambda p, rng: p.tick(self.now, rng), catch_up=False)
        return answers[0]

    @initialize(lengths=durations, seed=st.integers(0, 2**32 - 1),
                picks=st.lists(indices, max_size=5), shuffle=st.booleans())
    def start(self, lengths: list[int], seed: int, picks: list[int], shuffle: bool) -> None:
        self.pool = [QueueItem(UUID(int=n + 1), ms, f"m/{n}.mp3", "audio/mpeg", f"T{n}")
                     for n, ms in enumerate([*lengths, 0])]
        self.rngs = (random.Random(seed), random.Random(seed))
        with acting(CTX):
            self.zone = Zone.create(client_id=UUID(int=1), name="Zone")
        self.play(picks, shuffle)

    @rule(picks=st.lists(indices, max_size=7), shuffle=st.booleans())
    def play(self, picks: list[int], shuffle: bool) -> None:
        items = [self.pool[n] for n in picks]
        answer = self.both(lambda p, rng: p.play(items, shuffle=shuffle, source={"kind": "f"},
                                                 rng=rng, now=self.now))
        assert (answer is QueueEmpty) is not any(i.duration_ms for i in items)

    @rule()
    def pause(self) -> None:
        self.both(lambda p, _: p.pause(self.now))
        assert not self.player.music_playing

    @rule()
    def resume(self) -> None:
        self.both(lambda p, _: p.resume(self.now))

    @rule(offset=st.sampled_from([-1, 0, 1]) | st.integers(-100_000, 100_000),
          from_end=st.booleans())
    def seek(self, offset: int, from_end: bool) -> None:
        current = self.player.current
        position = offset + (current.duration_ms if current and from_end else 0)
        answer = self.both(lambda p, _: p.seek(position, self.now))
        if current is not None and not 0 <= position < current.duration_ms:
            assert answer is InvalidSeek

    @rule()
    def next(self) -> None:
        self.both(lambda p, rng: p.next(self.now, rng))

    @rule()
    def previous(self) -> None:
        self.both(lambda p, _: p.previous(self.now))

    @rule(seconds=st.sampled_from([0, 1, 5, 20]))
    def play_announcement(self, seconds: int) -> None:
        item = announcement(len(self.asked), seconds)
        if self.both(lambda p, _: p.play_announcement(item, self.now)) is None:
            self.asked.append(item)

    @rule(picks=st.sets(indices, max_size=3))
    def drop_tracks(self, picks: set[int]) -> None:
        gone = {self.pool[n].item_id for n in picks}
        self.both(lambda p, rng: p.drop_tracks(gone, self.now, rng))
        assert self.player.current is None or self.player.current.item_id not in gone

    @rule(ms=advances)
    def tick(self, ms: int) -> None:
        self.now += timedelta(milliseconds=ms)
        logged = len(self.player.log)
        ended = self.both(lambda p, rng: p.tick(self.now, rng), catch_up=False)
        assert ended == len(self.player.log) - logged  # one transition per item ended

    @rule(stale=st.booleans(), where=st.sampled_from(["none", "first", "right", "wrong"]))
    def a_device_reports_the_end(self, stale: bool, where: str) -> None:
        seq, now_at = self.player.play_seq - stale, self.player.queue_position
        position = {"none": None, "first": 0, "right": now_at, "wrong": now_at + 1}[where]
        self.both(lambda p, rng: p.report_ended(play_seq=seq, queue_position=position,
                                                now=self.now, rng=rng))

    @rule(ducking=st.sampled_from(["pause", "duck"]), crossfade_s=st.integers(0, 12))
    def change_sound(self, ducking: str, crossfade_s: int) -> None:
        sound = {"ducking": ducking, "crossfade_s": crossfade_s}
        self.player.log.append(("sound", sound))  # a Zone records it as DetailsChanged
        vars(self.player).update(sound)
        with acting(CTX):
            self.zone.change(**sound)
        self.zone.collect_events()
        self.tick(0)  # a shorter handover may be due at once: the ticker plays it

    # -- invariants --------------------------------------------------------------------

    @invariant()
    def the_queue_position_is_in_range(self) -> None:
        p = self.player
        assert 0 <= p.queue_position < len(p.queue) or p.queue_position == 0 == len(p.queue)
        assert p.removed <= {i.item_id for i in p.queue}

    @invariant()
    def the_position_is_never_negative_and_lies_inside_the_current_track(self) -> None:
        p, current = self.player, self.player.current
        assert p.position_ms >= 0 and p.music_position(self.now) >= 0
        if current is not None:
            assert p.music_position(self.now) < current.duration_ms

    @invariant()
    def announcements_start_and_finish_in_the_order_they_came(self) -> None:
        p = self.player
        finished = sum(name == "_announcement_finished" for name, _ in p.log)
        playing = [p.announcement] if p.announcement is not None else []
        assert [*playing, *p.pending] == self.asked[finished:]

    @invariant()
    def nothing_audible_is_overdue(self) -> None:
        ends_at = self.player.ends_at()
        assert ends_at is None or ends_at > self.now
        assert (ends_at is not None) is self.player.is_playing

    @invariant()
    def play_seq_never_decreases(self) -> None:
        assert self.player.play_seq >= self.seen_play_seq
        self.seen_play_seq = self.player.play_seq

    @invariant()
    def replaying_the_transitions_gives_the_same_player(self) -> None:
        replayed = Player()
        for name, kwargs in self.player.log:
            if name == "sound":
                vars(replayed).update(kwargs)
            else:
                getattr(Player, name)(replayed, **kwargs)
        assert vars(replayed) == {k: v for k, v in vars(self.player).items() if k != "log"}

    @invariant()
    def a_zone_given_the_same_commands_has_the_same_player_state(self) -> None:
        state = vars(Player())
        assert {k: getattr(self.zone, k) for k in state} == {
            k: getattr(self.player, k) for k in state}


TestPlayerMachine = PlayerMachine.TestCase
TestPlayerMachine.settings = settings(max_examples=80, stateful_step_count=40, deadline=None)

