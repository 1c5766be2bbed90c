"""A state machine for the Zone aggregate: every playback command, the clock and
device reports, with generated (valid and invalid) input.

The clock only moves in the tick rule, which then lets the zone play through
whatever ended, just as the ticker does; every other command happens at the
current clock time. After every command the zone is saved in an in-memory
PlaybackApplication. The invariants check the playback rules, that loading
from the store (from a snapshot, in the snapshotting variant) and folding the
raw events both give back exactly the live zone, and that every stored event
names the actor and request that caused it.
"""

from __future__ import annotations

import copy
import random
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar
from uuid import UUID

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

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

IN_MEMORY = {"PERSISTENCE_MODULE": "eventsourcing.popo"}
T0 = datetime(2026, 1, 1, 12, tzinfo=UTC)
POOL = 6  # tracks with audio; one more without audio is always in the pool
MUSIC_EVENTS = (Zone.PlaybackStarted, Zone.Paused, Zone.Resumed, Zone.Seeked,
                Zone.TrackChanged, Zone.TracksRemoved)

contexts = st.builds(
    lambda kind, who, corr: CommandContext(Actor(kind, who), corr),
    st.sampled_from(ActorKind),
    st.text(max_size=4),
    st.text(min_size=1, max_size=6),
)
# Durations of at least 5 s and advances of at most 10 min keep a tick well
# under the zone's catch-up limit.
durations = st.lists(st.integers(5_000, 120_000), min_size=POOL, max_size=POOL)
advances = st.one_of(st.sampled_from([0, 1, 999, 1_000]), st.integers(0, 60_000),
                     st.integers(0, 600_000))
indices = st.integers(0, POOL)  # POOL is the track without audio
sources = st.fixed_dictionaries({"kind": st.sampled_from(["folder", "playlist"]),
                                 "ids": st.lists(st.sampled_from("abc"), max_size=2)})


def typed_state(aggregate: Any) -> dict[str, tuple[type, Any]]:
    return {k: (type(v), v) for k, v in vars(aggregate).items() if k != "_pending_events"}


def stamp(ctx: CommandContext) -> tuple[str, str, str]:
    return (ctx.actor.kind.value, ctx.actor.id, ctx.correlation_id)


def music(zone: Zone) -> tuple[UUID | None, int, bool]:
    current = zone.current
    return (None if current is None else current.item_id, zone.position_ms, zone.music_playing)


class ZoneMachine(RuleBasedStateMachine):
    app_class: ClassVar[type[PlaybackApplication]] = PlaybackApplication

    def __init__(self) -> None:
        super().__init__()
        self.now = T0
        self.app = self.app_class(env=IN_MEMORY, clock=lambda: self.now)
        self.rng = random.Random(0)
        self.zone: Zone = None  # type: ignore[assignment]  # set by create_zone
        self.pool: list[QueueItem] = []
        self.events: list[Any] = []
        self.stamps: list[tuple[str, str, str]] = []
        self.seen_play_seq = 0
        self.music_before_break: tuple[UUID | None, int, bool] | None = None
        self.break_untouched = False  # no music command since the announcements began

    # -- running commands --------------------------------------------------------------

    def run(self, ctx: CommandContext, command: Callable[[], Any]) -> Any:
        before = copy.deepcopy(self.zone)
        with acting(ctx):
            result = command()
        if before is not None:
            self.follow_announcement_breaks(before)
        pending = list(self.zone.pending_events)
        self.events += pending
        self.stamps += [stamp(ctx)] * len(pending)
        self.app.save(self.zone)
        return result

    def refused(self, error: type[Exception], ctx: CommandContext,
                command: Callable[[], Any]) -> None:
        version = self.zone.version
        with pytest.raises(error) as caught, acting(ctx):
            command()
        assert type(caught.value) is error
        assert self.zone.version == version and not self.zone.pending_events

    def follow_announcement_breaks(self, before: Zone) -> None:
        """Fold this command's events onto the zone as it was, and at each end of
        an announcement break check that the music is back as it was left."""
        state = before
        for event in self.zone.pending_events:
            during = state.announcement is not None
            if during and isinstance(event, MUSIC_EVENTS) and not (
                    isinstance(event, Zone.TracksRemoved)
                    and self.music_before_break is not None
                    and self.music_before_break[0] not in event.track_ids):
                self.break_untouched = False
            state = event.mutate(state)
            if not during and state.announcement is not None:
                self.music_before_break, self.break_untouched = music(state), True
            elif during and state.announcement is None:
                if self.break_untouched:
                    assert music(state) == self.music_before_break
                    assert state.position_at == event.at
                self.music_before_break = None

    # -- commands ----------------------------------------------------------------------

    @initialize(ctx=contexts, lengths=durations, seed=st.integers(0, 2**32 - 1),
                volume=st.integers(0, 100), picks=st.lists(indices, max_size=6),
                shuffle=st.booleans())
    def create_zone(self, ctx: CommandContext, lengths: list[int], seed: int, volume: int,
                    picks: list[int], shuffle: bool) -> None:
        """A new zone, usually already playing (so that most steps have music)."""
        self.pool = [QueueItem(UUID(int=n + 1), ms, f"media/{n}.mp3", "audio/mpeg",
                               f"Track {n}") for n, ms in enumerate([*lengths, 0])]
        self.rng = random.Random(seed)
        def create() -> None:
            self.zone = Zone.create(client_id=UUID(int=1), name="Zone", default_volume=volume)
        self.run(ctx, create)
        if any(self.pool[n].duration_ms for n in picks):
            self.play(ctx, picks, shuffle, {"kind": "folder", "ids": []})

    @rule(ctx=contexts, picks=st.lists(indices, max_size=8), shuffle=st.booleans(),
          source=sources)
    def play(self, ctx: CommandContext, picks: list[int], shuffle: bool,
             source: dict[str, Any]) -> None:
        items = [self.pool[n] for n in picks]
        def command() -> None:
            self.zone.play(items, shuffle=shuffle, source=source, rng=self.rng, now=self.now)
        playable = list(dict.fromkeys(i for i in items if i.duration_ms > 0))
        if not playable:
            return self.refused(QueueEmpty, ctx, command)
        self.run(ctx, command)
        queue = self.zone.queue
        assert sorted(queue, key=str) == sorted(playable, key=str)
        assert shuffle or queue == playable  # each track once, in the given order
        assert music(self.zone) == (queue[0].item_id, 0, True)
        assert self.zone.position_at == self.now and self.zone.source == source

    @rule(ctx=contexts)
    def pause(self, ctx: CommandContext) -> None:
        position = self.zone.music_position(self.now)
        self.run(ctx, lambda: self.zone.pause(self.now))
        assert not self.zone.music_playing and self.zone.position_ms == position

    @rule(ctx=contexts)
    def resume(self, ctx: CommandContext) -> None:
        if self.zone.current is None:
            return self.refused(QueueEmpty, ctx, lambda: self.zone.resume(self.now))
        position = self.zone.music_position(self.now)
        self.run(ctx, lambda: self.zone.resume(self.now))
        assert self.zone.music_playing and self.zone.music_position(self.now) == position

    @rule(ctx=contexts)
    def next(self, ctx: CommandContext) -> None:
        zone = self.zone
        if zone.announcement is None and not zone.has_playable:
            return self.refused(QueueEmpty, ctx, lambda: zone.next(self.now, self.rng))
        before, upcoming, pending = music(zone), zone_state(zone)["next"], list(zone.pending)
        announcing, queue = zone.announcement is not None, list(zone.queue)
        self.run(ctx, lambda: zone.next(self.now, self.rng))
        if announcing:  # the announcement is skipped, not the music
            assert zone.announcement == (pending[0] if pending else None)
            assert music(zone) == before
        elif zone.queue == queue and upcoming is not None:  # what the state said comes next
            assert zone.current is not None and zone.current.as_dict() == upcoming
        elif len(zone.queue) > 1:
            assert zone.current is not None and zone.current.item_id != before[0]

    @rule(ctx=contexts)
    def previous(self, ctx: CommandContext) -> None:
        if not self.zone.has_playable:
            return self.refused(QueueEmpty, ctx, lambda: self.zone.previous(self.now))
        self.run(ctx, lambda: self.zone.previous(self.now))
        assert self.zone.position_ms == 0 and self.zone.position_at == self.now

    @rule(ctx=contexts, offset=st.sampled_from([-1, 0, 1]) | st.integers(-200_000, 200_000),
          from_end=st.booleans())
    def seek(self, ctx: CommandContext, offset: int, from_end: bool) -> None:
        current = self.zone.current
        position = offset + (current.duration_ms if current and from_end else 0)
        def command() -> None:
            self.zone.seek(position, self.now)
        if current is None:
            return self.refused(QueueEmpty, ctx, command)
        if not 0 <= position < current.duration_ms:
            return self.refused(InvalidSeek, ctx, command)
        self.run(ctx, command)
        assert self.zone.music_position(self.now) == position

    @rule(ctx=contexts, volume=st.integers(-3, 103))
    def set_volume(self, ctx: CommandContext, volume: int) -> None:
        if not 0 <= volume <= 100:
            return self.refused(InvalidVolume, ctx, lambda: self.zone.set_volume(volume))
        self.run(ctx, lambda: self.zone.set_volume(volume))
        assert self.zone.volume == volume

    @rule(ctx=contexts, n=st.integers(0, 3), seconds=st.sampled_from([-1, 0, 1, 5, 30]),
          scheduled=st.booleans())
    def play_announcement(self, ctx: CommandContext, n: int, seconds: int,
                          scheduled: bool) -> None:
        item = AnnouncementItem(UUID(int=100 + n), seconds * 1000, f"ann/{n}.mp3", "audio/mpeg",
                                f"Announcement {n}", "schedule-1" if scheduled else None)
        def command() -> None:
            self.zone.play_announcement(item, self.now)
        if seconds <= 0:
            return self.refused(PlaybackError, ctx, command)
        playing, pending = self.zone.announcement, list(self.zone.pending)
        frozen = self.zone.music_position(self.now)
        self.run(ctx, command)
        if playing is None:
            assert self.zone.announcement == item and self.zone.position_ms == frozen
            assert self.zone.ends_at() == self.now + timedelta(seconds=seconds)
        else:
            assert (self.zone.announcement, self.zone.pending) == (playing, [*pending, item])

    @rule(ctx=contexts, n=st.integers(0, 3), seconds=st.integers(1, 30),
          late=st.sampled_from([0, 0, 1, 20_000]))
    def an_announcement_plays_to_its_end(self, ctx: CommandContext, n: int, seconds: int,
                                         late: int) -> None:
        """An undisturbed break (the music checks happen in follow_announcement_breaks)."""
        self.play_announcement(ctx, n, seconds, scheduled=False)
        while self.zone.announcement is not None:
            end = self.zone.ends_at()
            assert end is not None
            self.tick(ctx, (end - self.now) // timedelta(milliseconds=1) + late)

    @rule(ctx=contexts, picks=st.sets(indices, max_size=4))
    def drop_tracks(self, ctx: CommandContext, picks: set[int]) -> None:
        gone = {self.pool[n].item_id for n in picks}
        self.run(ctx, lambda: self.zone.drop_tracks(gone, self.now, self.rng))
        assert self.zone.current is None or self.zone.current.item_id not in gone
        assert not gone & {i.item_id for i in self.zone.queue} - self.zone.removed

    @rule(ctx=contexts, ms=advances)
    def tick(self, ctx: CommandContext, ms: int) -> None:
        self.now += timedelta(milliseconds=ms)
        state, version = copy.deepcopy(self.zone), self.zone.version
        assert self.run(ctx, lambda: self.zone.tick(self.now, self.rng)) == (
            self.zone.version - version)
        for event in self.events[version:]:  # each item ended when the clock said it would
            assert event.at == state.ends_at() and event.reason == "ended"
            state = event.mutate(state)
        ends_at = self.zone.ends_at()
        assert ends_at is None or ends_at > self.now  # nothing overdue is left

    @rule(ctx=contexts, where=st.sampled_from(["none", "right", "wrong"]))
    def device_reports_the_end(self, ctx: CommandContext, where: str) -> None:
        zone = self.zone
        position = {"none": None, "right": zone.queue_position,
                    "wrong": zone.queue_position + 1}[where]
        counts = zone.announcement is not None or (
            zone.music_playing and zone.current is not None and where != "wrong")
        version = zone.version
        result = self.run(ctx, lambda: zone.report_ended(
            play_seq=zone.play_seq, queue_position=position, now=self.now, rng=self.rng))
        assert result is counts and (zone.version > version) is counts

    @rule(ctx=contexts, other=contexts)
    def two_devices_report_the_same_end(self, ctx: CommandContext,
                                        other: CommandContext) -> None:
        zone = self.zone
        seq, position = zone.play_seq, zone.queue_position
        def report() -> bool:
            return zone.report_ended(play_seq=seq, queue_position=position, now=self.now,
                                     rng=self.rng)
        self.run(ctx, report)
        version = zone.version
        assert self.run(other, report) is False and zone.version == version

    @rule(ctx=contexts, behind=st.integers(1, 3), where=st.sampled_from([None, 0, "right"]))
    def device_reports_a_stale_end(self, ctx: CommandContext, behind: int,
                                   where: int | str | None) -> None:
        zone, version = self.zone, self.zone.version
        position = zone.queue_position if where == "right" else where
        assert self.run(ctx, lambda: zone.report_ended(
            play_seq=zone.play_seq - behind, queue_position=position, now=self.now,
            rng=self.rng)) is False
        assert zone.version == version

    # -- invariants ----------------------------------------------------------------------

    @invariant()
    def the_queue_position_is_valid(self) -> None:
        zone = self.zone
        assert 0 <= zone.queue_position < len(zone.queue) or zone.queue_position == 0 == len(
            zone.queue)
        assert zone.removed <= {i.item_id for i in zone.queue}
        assert len({i.item_id for i in zone.queue}) == len(zone.queue)

    @invariant()
    def a_playable_queue_always_has_a_playable_current_track(self) -> None:
        zone = self.zone
        if zone.music_playing and zone.has_playable:
            assert zone.current is not None
        assert zone.current is not None or not zone.has_playable
        assert zone.current is not None or not zone.music_playing

    @invariant()
    def the_music_position_lies_inside_the_current_track(self) -> None:
        current = self.zone.current
        if current is not None:
            assert 0 <= self.zone.music_position(self.now) < current.duration_ms

    @invariant()
    def nothing_audible_is_overdue(self) -> None:
        # The clock only moves in `tick`, which plays through whatever ended.
        ends_at = self.zone.ends_at()
        assert ends_at is None or ends_at > self.now
        assert (ends_at is not None) is self.zone.is_playing

    @invariant()
    def play_seq_never_decreases(self) -> None:
        assert self.zone.play_seq >= self.seen_play_seq
        self.seen_play_seq = self.zone.play_seq

    @invariant()
    def volume_stays_between_0_and_100(self) -> None:
        assert 0 <= self.zone.volume <= 100

    @invariant()
    def loading_from_the_store_gives_the_same_zone(self) -> None:
        stored = self.app.repository.get(self.zone.id)
        assert stored == self.zone
        assert typed_state(stored) == typed_state(self.zone)
        assert zone_state(stored) == zone_state(self.zone)

    @invariant()
    def folding_the_raw_events_gives_the_same_zone(self) -> None:
        folded = None
        for event in self.events:
            folded = event.mutate(folded)
        assert typed_state(folded) == typed_state(self.zone)

    @invariant()
    def every_stored_event_names_its_actor_and_request(self) -> None:
        stored = list(self.app.events.get(self.zone.id))
        assert [(e.actor_kind, e.actor_id, e.correlation_id) for e in stored] == self.stamps


class SnapshottingPlaybackApplication(PlaybackApplication):
    snapshotting_intervals: ClassVar[dict[type[Any], int]] = {Zone: 3}


class SnapshottingZoneMachine(ZoneMachine):
    """The same machine, loading the zone from frequent snapshots."""

    app_class = SnapshottingPlaybackApplication

    @invariant()
    def the_zone_loads_from_its_latest_snapshot(self) -> None:
        assert self.app.snapshots is not None
        snapshots = list(self.app.snapshots.get(self.zone.id, desc=True, limit=1))
        assert [s.originator_version for s in snapshots] == (
            [self.zone.version // 3 * 3] if self.zone.version >= 3 else [])
        if snapshots:
            from_snapshot = snapshots[0].mutate(None)
            for event in self.events[from_snapshot.version:]:
                from_snapshot = event.mutate(from_snapshot)
            assert typed_state(from_snapshot) == typed_state(self.zone)


SETTINGS = settings(max_examples=60, stateful_step_count=30, deadline=None)
TestZoneMachine = ZoneMachine.TestCase
TestZoneMachine.settings = SETTINGS
TestSnapshottingZoneMachine = SnapshottingZoneMachine.TestCase
TestSnapshottingZoneMachine.settings = SETTINGS
