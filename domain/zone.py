"""The Zone aggregate: a group of speakers and everything it plays.

Time is server-authoritative: the music position is `position_ms` at
`position_at`; while the music plays, a device adds the time since then.
Announcements interrupt the music: its position is frozen, and when the last
queued announcement ends the music continues from there, playing or paused
as it was. A zone that ducks (`ducking` "duck") keeps the music going under
its announcements instead, lowered on the devices, its position advancing.
With a crossfade, the next track starts `crossfade_s` before the current one
ends (the handover), while devices fade the old one out. Every change of what
is audible bumps `play_seq`, which device reports of an ended item must name,
so two devices cannot skip twice.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import event

from domain.accounts import valid_timezone
from domain.base import NotFound, TracedAggregate
from domain.library import LibraryError
from domain.playback import (
    AnnouncementItem,
    InvalidSeek,
    PlaybackError,
    QueueEmpty,
    QueueItem,
    build_queue,
    check_volume,
    unique_items,
)
from domain.roster import Roster
from domain.schedule_engine import Decision, ZoneFacts, is_newer
from domain.sound import SOUND_DEFAULTS, check_sound

MAX_CATCH_UP = 1000  # items a single clock tick may play through


def _ms(delta: timedelta) -> int:
    return delta // timedelta(milliseconds=1)


class Zone(TracedAggregate):
    # 2: the zone's sound settings (crossfade, ducking, loudness targets)
    # 3: music_ducked (the music plays on under the announcement playing)
    class_version = 3

    @staticmethod
    def upcast_v1_v2(state: dict[str, Any]) -> None:
        state.update(SOUND_DEFAULTS)  # zones before these settings: today's behaviour

    @staticmethod
    def upcast_v2_v3(state: dict[str, Any]) -> None:
        state["music_ducked"] = False  # no zone could duck before: announcements paused it

    class Created(TracedAggregate.Created):
        client_id: UUID
        name: str
        description: str
        default_volume: int
        timezone: str

    @event(Created)
    def __init__(self, client_id: UUID, name: str, description: str, default_volume: int,
                 timezone: str) -> None:
        self.client_id = client_id
        self.name, self.description = name, description
        self.default_volume, self.timezone = default_volume, timezone
        self.is_active, self.is_deleted = True, False
        self.volume = default_volume
        self.queue: list[QueueItem] = []
        self.source: dict[str, Any] = {}
        self.shuffle = False
        self.queue_position = 0
        self.music_playing = False
        self.position_ms = 0
        self.position_at: datetime | None = None
        self.play_seq = 0
        self.removed: set[UUID] = set()
        self.announcement: AnnouncementItem | None = None
        self.announcement_started_at: datetime | None = None
        self.pending: list[AnnouncementItem] = []
        # what the schedules decided (mutators replace these, never change them in place)
        self.schedule_marks: dict[str, str] = {}  # schedule id -> last slot decided
        self.music_key: str | None = None  # the schedule window the music comes from
        self.manual_at: datetime | None = None  # when a user last chose the music
        self.tracks_played = 0  # music tracks that ended or were skipped
        self.fallback_folder_ids: list[str] = []  # played when music schedules end
        # how the zone sounds (domain/sound.py): crossfade, ducking, loudness targets
        self.crossfade_s: int = SOUND_DEFAULTS["crossfade_s"]
        self.ducking: str = SOUND_DEFAULTS["ducking"]
        self.duck_level: int = SOUND_DEFAULTS["duck_level"]
        self.target_lufs: float = SOUND_DEFAULTS["target_lufs"]
        self.announcement_lift_lu: float = SOUND_DEFAULTS["announcement_lift_lu"]
        # the announcement playing was started in a ducking zone: the music plays on
        self.music_ducked = False

    @classmethod
    def create(cls, *, client_id: UUID, name: str, description: str = "",
               default_volume: int = 70, timezone: str = "UTC") -> Zone:
        if not name.strip():
            raise PlaybackError("a zone needs a name")
        return cls(client_id=client_id, name=name.strip(), description=description,
                   default_volume=check_volume(default_volume),
                   timezone=valid_timezone(timezone))

    # -- what is playing ---------------------------------------------------------

    @property
    def current(self) -> QueueItem | None:
        if not self.queue:
            return None
        item = self.queue[self.queue_position]
        return None if item.item_id in self.removed else item

    @property
    def has_playable(self) -> bool:
        return any(item.item_id not in self.removed for item in self.queue)

    @property
    def is_playing(self) -> bool:
        """Something is audible: an announcement, or the music."""
        return self.announcement is not None or (self.music_playing and self.current is not None)

    @property
    def music_frozen(self) -> bool:
        """An announcement has paused the music (it was not ducked)."""
        return self.announcement is not None and not self.music_ducked

    def music_position(self, now: datetime) -> int:
        if self.music_frozen or not self.music_playing or self.position_at is None:
            return self.position_ms
        return self.position_ms + max(0, _ms(now - self.position_at))

    def ends_at(self) -> datetime | None:
        """When the next item ends by the clock (None when nothing plays): the
        announcement, or the music's handover to its next track, whichever is first."""
        ends = [e for e in (self.announcement_ends_at(), self.music_ends_at()) if e is not None]
        return min(ends, default=None)

    def announcement_ends_at(self) -> datetime | None:
        if self.announcement is None or self.announcement_started_at is None:
            return None
        return self.announcement_started_at + timedelta(
            milliseconds=self.announcement.duration_ms)

    def music_ends_at(self) -> datetime | None:
        """When the next track takes over: the current one's end, less the crossfade
        (at most half the track, and never before the position was set)."""
        current = self.current
        if self.music_frozen or not self.music_playing or current is None \
                or self.position_at is None:
            return None
        overlap = min(self.crossfade_s * 1000, current.duration_ms // 2)
        remaining = current.duration_ms - overlap - self.position_ms
        return self.position_at + timedelta(milliseconds=max(0, remaining))

    # -- zone details ------------------------------------------------------------

    @property
    def sound(self) -> dict[str, Any]:
        """The zone's sound settings (domain/sound.py), by name."""
        return {key: getattr(self, key) for key in SOUND_DEFAULTS}

    class DetailsChanged(TracedAggregate.Event):
        changes: dict[str, Any]

    def change(self, **changes: Any) -> None:
        self._check_alive()
        allowed = {"name", "description", "default_volume", "is_active", "timezone",
                   "fallback_folder_ids", *SOUND_DEFAULTS}
        if set(changes) - allowed:
            raise PlaybackError(f"these zone fields cannot be changed: "
                                f"{sorted(set(changes) - allowed)}")
        if "timezone" in changes:
            valid_timezone(changes["timezone"])
        if "default_volume" in changes:
            check_volume(changes["default_volume"])
        if "name" in changes and not str(changes["name"]).strip():
            raise PlaybackError("a zone needs a name")
        if "fallback_folder_ids" in changes:
            changes["fallback_folder_ids"] = _ids(changes["fallback_folder_ids"])
        changes.update(check_sound(changes))
        changed = self._differing(changes)
        if changed:
            self._details_changed(changes=changed)

    @event(DetailsChanged)
    def _details_changed(self, changes: dict[str, Any]) -> None:
        self._assign(changes)

    class Deleted(TracedAggregate.Event):
        pass

    def delete(self) -> None:
        self._check_alive()
        self._deleted()

    @event(Deleted)
    def _deleted(self) -> None:
        self.is_deleted, self.music_playing = True, False
        self.announcement, self.pending = None, []

    def _check_alive(self) -> None:
        if self.is_deleted:
            raise NotFound(f"zone {self.id} not found")

    # -- music ---------------------------------------------------------------------

    class PlaybackStarted(TracedAggregate.Event):
        queue: list[dict[str, Any]]
        source: dict[str, Any]
        shuffle: bool
        at: datetime

    def play(self, items: list[QueueItem], *, shuffle: bool, source: dict[str, Any],
             rng: random.Random, now: datetime) -> None:
        """Replace the queue and start it from the top."""
        self._check_alive()
        items = unique_items(items)
        if not items:
            raise QueueEmpty("nothing playable to play: the folders or tracks are empty")
        queue = build_queue(items, shuffle=shuffle, rng=rng)
        self._playback_started(queue=[i.as_dict() for i in queue], source=source,
                               shuffle=shuffle, at=now)

    @event(PlaybackStarted)
    def _playback_started(self, queue: list[dict[str, Any]], source: dict[str, Any],
                          shuffle: bool, at: datetime) -> None:
        self.queue = [QueueItem.from_dict(i) for i in queue]
        self.source, self.shuffle, self.removed = source, shuffle, set()
        self.queue_position, self.music_playing, self.position_ms = 0, True, 0
        self.position_at = at
        if "schedule_id" not in source:  # a user chose this music
            self.manual_at, self.music_key = at, None
        if self.announcement is None:
            self.play_seq += 1

    class Paused(TracedAggregate.Event):
        position_ms: int
        at: datetime

    def pause(self, now: datetime) -> None:
        self._check_alive()
        if self.music_playing:
            self._paused(position_ms=self.music_position(now), at=now)

    @event(Paused)
    def _paused(self, position_ms: int, at: datetime) -> None:
        self.music_playing, self.position_ms, self.position_at = False, position_ms, at

    class Resumed(TracedAggregate.Event):
        at: datetime

    def resume(self, now: datetime) -> None:
        self._check_alive()
        if self.current is None:
            raise QueueEmpty("nothing to resume: start playback first")
        if not self.music_playing:
            self._resumed(at=now)

    @event(Resumed)
    def _resumed(self, at: datetime) -> None:
        self.music_playing, self.position_at = True, at

    class Seeked(TracedAggregate.Event):
        position_ms: int
        at: datetime

    def seek(self, position_ms: int, now: datetime) -> None:
        self._check_alive()
        current = self.current
        if current is None:
            raise QueueEmpty("nothing to seek in: start playback first")
        if not 0 <= position_ms < current.duration_ms:
            raise InvalidSeek(f"position must be between 0 and {current.duration_ms - 1} ms")
        self._seeked(position_ms=position_ms, at=now)

    @event(Seeked)
    def _seeked(self, position_ms: int, at: datetime) -> None:
        self.position_ms, self.position_at = position_ms, at

    class VolumeChanged(TracedAggregate.Event):
        volume: int

    def set_volume(self, volume: int) -> None:
        self._check_alive()
        if check_volume(volume) != self.volume:
            self._volume_changed(volume=volume)

    @event(VolumeChanged)
    def _volume_changed(self, volume: int) -> None:
        self.volume = volume

    class TrackChanged(TracedAggregate.Event):
        """The music moved to `queue_position` at `at`; `reason` says why the
        previous item ended (ended, skipped, previous, removed); `queue` is the
        reshuffled queue when the end of a shuffled queue was passed."""

        queue_position: int
        at: datetime
        reason: str
        queue: list[dict[str, Any]] | None

    def next(self, now: datetime, rng: random.Random) -> None:
        """Skip: the announcement if one plays, else the current track."""
        self._check_alive()
        if self.announcement is not None:
            self._announcement_finished(at=now, reason="skipped")
            return
        if not self.has_playable:
            raise QueueEmpty("nothing to skip to: the queue is empty")
        self._advance(now, rng, "skipped")

    def previous(self, now: datetime) -> None:
        self._check_alive()
        if not self.has_playable:
            raise QueueEmpty("nothing to go back to: the queue is empty")
        index = self.queue_position
        for _ in range(len(self.queue)):
            index = (index - 1) % len(self.queue)
            if self.queue[index].item_id not in self.removed:
                break
        self._track_changed(queue_position=index, at=now, reason="previous", queue=None)

    def _advance(self, at: datetime, rng: random.Random, reason: str) -> None:
        """Move to the next playable item; past the end, loop (reshuffled if shuffling)."""
        index = self.queue_position + 1
        while index < len(self.queue) and self.queue[index].item_id in self.removed:
            index += 1
        if index < len(self.queue):
            self._track_changed(queue_position=index, at=at, reason=reason, queue=None)
            return
        playable = [i for i in self.queue if i.item_id not in self.removed]
        ended = self.queue[self.queue_position].item_id
        if self.shuffle:
            queue = build_queue(playable, shuffle=True, rng=rng, avoid_first=ended)
            self._track_changed(queue_position=0, at=at, reason=reason,
                                queue=[i.as_dict() for i in queue])
        else:
            first = next(n for n, i in enumerate(self.queue) if i.item_id not in self.removed)
            self._track_changed(queue_position=first, at=at, reason=reason, queue=None)

    @event(TrackChanged)
    def _track_changed(self, queue_position: int, at: datetime, reason: str,
                       queue: list[dict[str, Any]] | None) -> None:
        if queue is not None:
            self.queue = [QueueItem.from_dict(i) for i in queue]
            self.removed = set()
        self.queue_position, self.position_ms, self.position_at = queue_position, 0, at
        if self.announcement is None:
            self.play_seq += 1
        if reason in ("ended", "skipped"):
            self.tracks_played += 1

    class TracksRemoved(TracedAggregate.Event):
        """Tracks deleted from the library: never played again."""

        track_ids: list[UUID]
        at: datetime

    def drop_tracks(self, track_ids: set[UUID], now: datetime, rng: random.Random) -> None:
        gone = {i.item_id for i in self.queue} & (set(track_ids) - self.removed)
        if self.is_deleted or not gone:
            return
        current = self.current
        self._tracks_removed(track_ids=sorted(gone, key=str), at=now)
        if current is not None and current.item_id in gone and self.has_playable:
            self._advance(now, rng, "removed")

    @event(TracksRemoved)
    def _tracks_removed(self, track_ids: list[UUID], at: datetime) -> None:
        self.removed |= set(track_ids)
        if not self.has_playable:
            self.music_playing, self.position_ms, self.position_at = False, 0, at

    # -- announcements ---------------------------------------------------------------

    class AnnouncementStarted(TracedAggregate.Event):
        announcement: dict[str, Any]
        at: datetime
        music_position_ms: int

    class AnnouncementQueued(TracedAggregate.Event):
        announcement: dict[str, Any]

    def play_announcement(self, item: AnnouncementItem, now: datetime) -> None:
        """Interrupt the music now, or queue up behind the announcement playing."""
        self._check_alive()
        if item.duration_ms <= 0:
            raise PlaybackError("the announcement has no audio yet")
        if self.announcement is not None:
            self._announcement_queued(announcement=item.as_dict())
        else:
            self._announcement_started(announcement=item.as_dict(), at=now,
                                       music_position_ms=self.music_position(now))

    @event(AnnouncementStarted)
    def _announcement_started(self, announcement: dict[str, Any], at: datetime,
                              music_position_ms: int) -> None:
        self.announcement = AnnouncementItem.from_dict(announcement)
        self.announcement_started_at, self.position_ms = at, music_position_ms
        self.music_ducked = self.ducking == "duck"
        if self.music_ducked:  # the music plays on from here
            self.position_at = at
        self.play_seq += 1

    @event(AnnouncementQueued)
    def _announcement_queued(self, announcement: dict[str, Any]) -> None:
        self.pending.append(AnnouncementItem.from_dict(announcement))

    class AnnouncementFinished(TracedAggregate.Event):
        """The announcement ended (`reason`: ended or skipped); the next queued one
        starts at `at`, or else the music continues from where it was (or, ducked,
        from where it has got to)."""

        at: datetime
        reason: str

    @event(AnnouncementFinished)
    def _announcement_finished(self, at: datetime, reason: str) -> None:
        if self.pending:
            self.announcement = self.pending.pop(0)
            self.announcement_started_at = at
        else:
            self.position_ms = self.music_position(at)
            self.announcement = self.announcement_started_at = None
            self.position_at, self.music_ducked = at, False
        self.play_seq += 1

    # -- the clock and device reports --------------------------------------------------

    def tick(self, now: datetime, rng: random.Random) -> int:
        """Play through every item whose end has passed by `now`; returns how many."""
        if self.is_deleted:
            return 0
        ended = 0
        while ended < MAX_CATCH_UP:
            end = self.ends_at()
            if end is None or end > now:
                break
            if end == self.announcement_ends_at():
                self._announcement_finished(at=end, reason="ended")
            else:
                self._advance(end, rng, "ended")
            ended += 1
        return ended

    def report_ended(self, *, play_seq: int, queue_position: int | None, now: datetime,
                     rng: random.Random) -> bool:
        """A device says the item it was playing ended. Only a report naming the
        item audible now counts, so repeated or late reports change nothing."""
        if self.is_deleted or play_seq != self.play_seq:
            return False
        if self.announcement is not None:
            self._announcement_finished(at=now, reason="ended")
            return True
        if not self.music_playing or self.current is None:
            return False
        if queue_position is not None and queue_position != self.queue_position:
            return False
        self._advance(now, rng, "ended")
        return True

    # -- schedules ---------------------------------------------------------------------

    def schedule_facts(self) -> ZoneFacts:
        return ZoneFacts(zone_id=self.id, timezone=self.timezone, music_key=self.music_key,
                         manual_at=self.manual_at, marks=self.schedule_marks,
                         tracks_played=self.tracks_played)

    class ScheduleDecided(TracedAggregate.Event):
        """A schedule's decision for this zone (what, which slot, by which rule);
        `outcome` says what came of it (played, stopped, or why nothing did)."""

        schedule_id: UUID | None
        action: str
        slot: str
        rule: str
        detail: str
        outcome: str

    def is_decided(self, decision: Decision) -> bool:
        """Whether that slot was decided already (so deciding again does nothing)."""
        if decision.action in ("music", "fallback"):
            return decision.slot == self.music_key
        return not is_newer(decision.slot, self.schedule_marks.get(str(decision.schedule_id)))

    def record_decision(self, decision: Decision, outcome: str) -> None:
        if self.is_decided(decision):
            raise PlaybackError(f"slot {decision.slot} was decided already")
        self._schedule_decided(
            schedule_id=decision.schedule_id, action=decision.action, slot=decision.slot,
            rule=decision.rule, detail=decision.detail, outcome=outcome)

    @event(ScheduleDecided)
    def _schedule_decided(self, schedule_id: UUID | None, action: str, slot: str, rule: str,
                          detail: str, outcome: str) -> None:
        if action in ("music", "fallback"):
            self.music_key, self.manual_at = slot, None
        else:
            self.schedule_marks = {**self.schedule_marks, str(schedule_id): slot}


def _ids(values: Any) -> list[str]:
    try:
        return list(dict.fromkeys(str(UUID(str(v))) for v in values))
    except (TypeError, ValueError):
        raise LibraryError("fallback_folder_ids must be a list of folder ids",
                           "fallback_folder_ids") from None


def zone_roster_id(client_id: UUID) -> UUID:
    return uuid5(NAMESPACE_URL, f"sync2gear:zone-roster:{client_id}")


class ZoneRoster(Roster):
    """The zones a client has (one stream per client): never more than `max_zones`."""

    limit_name = "max_zones"

    @staticmethod
    def create_id(client_id: UUID) -> UUID:
        return zone_roster_id(client_id)

    class Opened(Roster.Opened):
        pass

    class Added(Roster.Added):
        pass

    class Removed(Roster.Removed):
        pass
