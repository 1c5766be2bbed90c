"""The Zone aggregate: a group of speakers, what it plays and how it sounds.

A zone is made of four parts, each with its own module:
- its settings (here): name, volumes, timezone, sound (domain/sound.py), fallback;
- its player (domain/player.py): queue, position, announcements, the clock;
- its schedule book (domain/zone_schedules.py): what the schedules decided for it;
- its lifecycle (domain/lifecycle.py): a deleted zone refuses commands.
The parts are mixed in rather than held as attributes, because a zone's snapshot
is its flat `__dict__` (a stored shape: domain/shapes.py) and folding its events
is the hot path of projection rebuilds: each event runs its transition on the
zone itself. The events are the zone's own (their topics, such as
`domain.zone:Zone.Paused`, are stored); each applies the part's transition
named after it (`Zone.Paused` applies `Player._paused`).
"""

from __future__ import annotations

import random
from datetime import datetime
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import event

from domain.accounts import valid_timezone
from domain.base import TracedAggregate
from domain.library import LibraryError
from domain.lifecycle import Deletable
from domain.playback import AnnouncementItem, PlaybackError, QueueItem, check_volume
from domain.player import Player
from domain.roster import Roster
from domain.sound import SOUND_DEFAULTS, check_sound
from domain.zone_schedules import ScheduleBook


class Zone(Deletable, Player, ScheduleBook, TracedAggregate):
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
        Player.__init__(self)
        ScheduleBook.__init__(self)
        self.fallback_folder_ids: list[str] = []  # played when music schedules end
        # how the zone sounds (domain/sound.py): crossfade, ducking, loudness targets
        self.crossfade_s = SOUND_DEFAULTS["crossfade_s"]
        self.ducking = SOUND_DEFAULTS["ducking"]
        self.duck_level: int = SOUND_DEFAULTS["duck_level"]
        self.target_lufs: float = SOUND_DEFAULTS["target_lufs"]
        self.announcement_lift_lu: float = SOUND_DEFAULTS["announcement_lift_lu"]

    @classmethod
    def create(cls, *, client_id: UUID, name: str, description: str = "",
               default_volume: int = 70, timezone: str = "UTC") -> Zone:
        if not name.strip():
            raise PlaybackError("a zone needs a name")
        return cls(client_id=client_id, name=name.strip(), description=description,
                   default_volume=check_volume(default_volume),
                   timezone=valid_timezone(timezone))

    # -- settings ------------------------------------------------------------------------

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

    class VolumeChanged(TracedAggregate.Event):
        volume: int

    def set_volume(self, volume: int) -> None:
        self._check_alive()
        if check_volume(volume) != self.volume:
            self._volume_changed(volume=volume)

    @event(VolumeChanged)
    def _volume_changed(self, volume: int) -> None:
        self.volume = volume

    class Deleted(TracedAggregate.Event):
        pass

    _deleted = event(Deleted)(Deletable._deleted)  # delete() (domain/lifecycle.py)

    def _let_go(self) -> None:
        self._silenced()

    # -- the player's events (the rules are in domain/player.py) --------------------------

    class PlaybackStarted(TracedAggregate.Event):
        queue: list[dict[str, Any]]
        source: dict[str, Any]
        shuffle: bool
        at: datetime

    class Paused(TracedAggregate.Event):
        position_ms: int
        at: datetime

    class Resumed(TracedAggregate.Event):
        at: datetime

    class Seeked(TracedAggregate.Event):
        position_ms: int
        at: datetime

    class TrackChanged(TracedAggregate.Event):
        """The music moved to `queue_position` at `at`; `reason` says why the
        previous item ended (ended, skipped, previous, removed); `queue` is the
        reshuffled queue when the end of a shuffled queue was passed."""

        queue_position: int
        at: datetime
        reason: str
        queue: list[dict[str, Any]] | None

    class TracksRemoved(TracedAggregate.Event):
        """Tracks deleted from the library: never played again."""

        track_ids: list[UUID]
        at: datetime

    class AnnouncementStarted(TracedAggregate.Event):
        announcement: dict[str, Any]
        at: datetime
        music_position_ms: int

    class AnnouncementQueued(TracedAggregate.Event):
        announcement: dict[str, Any]

    class AnnouncementFinished(TracedAggregate.Event):
        """The announcement ended (`reason`: ended or skipped); the next queued one
        starts at `at`, or else the music continues from where it was (or, ducked,
        from where it has got to)."""

        at: datetime
        reason: str

    @event(PlaybackStarted)
    def _playback_started(self, queue: list[dict[str, Any]], source: dict[str, Any],
                          shuffle: bool, at: datetime) -> None:
        Player._playback_started(self, queue, source, shuffle, at)
        if "schedule_id" not in source:  # a user chose this music
            self._music_chosen_by_hand(at)

    _paused = event(Paused)(Player._paused)
    _resumed = event(Resumed)(Player._resumed)
    _seeked = event(Seeked)(Player._seeked)
    _track_changed = event(TrackChanged)(Player._track_changed)
    _tracks_removed = event(TracksRemoved)(Player._tracks_removed)
    _announcement_started = event(AnnouncementStarted)(Player._announcement_started)
    _announcement_queued = event(AnnouncementQueued)(Player._announcement_queued)
    _announcement_finished = event(AnnouncementFinished)(Player._announcement_finished)

    # -- the player's commands, on a zone that is not deleted -------------------------------

    def play(self, items: list[QueueItem], *, shuffle: bool, source: dict[str, Any],
             rng: random.Random, now: datetime) -> None:
        self._check_alive()
        super().play(items, shuffle=shuffle, source=source, rng=rng, now=now)

    def pause(self, now: datetime) -> None:
        self._check_alive()
        super().pause(now)

    def resume(self, now: datetime) -> None:
        self._check_alive()
        super().resume(now)

    def seek(self, position_ms: int, now: datetime) -> None:
        self._check_alive()
        super().seek(position_ms, now)

    def restart(self, now: datetime) -> None:
        """The current track from its start, playing or paused as it was: a seek to 0."""
        self.seek(0, now)

    def next(self, now: datetime, rng: random.Random) -> None:
        self._check_alive()
        super().next(now, rng)

    def previous(self, now: datetime) -> None:
        self._check_alive()
        super().previous(now)

    def play_announcement(self, item: AnnouncementItem, now: datetime) -> None:
        self._check_alive()
        super().play_announcement(item, now)

    # A deleted zone ignores the clock, device reports and removed tracks (no error:
    # the ticker and the library do not know it is gone).

    def drop_tracks(self, track_ids: set[UUID], now: datetime, rng: random.Random) -> None:
        if not self.is_deleted:
            super().drop_tracks(track_ids, now, rng)

    def tick(self, now: datetime, rng: random.Random) -> int:
        return 0 if self.is_deleted else super().tick(now, rng)

    def report_ended(self, *, play_seq: int, queue_position: int | None, now: datetime,
                     rng: random.Random) -> bool:
        return not self.is_deleted and super().report_ended(
            play_seq=play_seq, queue_position=queue_position, now=now, rng=rng)

    # -- the schedule book's event (the rules are in domain/zone_schedules.py) ---------------

    class ScheduleDecided(TracedAggregate.Event):
        """A schedule's decision for this zone (what, which slot, by which rule);
        `outcome` says what came of it (played, stopped, or why nothing did)."""

        schedule_id: UUID | None
        action: str
        slot: str
        rule: str
        detail: str
        outcome: str

    _schedule_decided = event(ScheduleDecided)(ScheduleBook._schedule_decided)


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
