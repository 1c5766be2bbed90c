"""The player: what a zone plays and when, as a state machine of its own.

Time is server-authoritative: the music position is `position_ms` at
`position_at`; while the music plays, a device adds the time since then. Past
the end of the queue the music loops (reshuffled when shuffling). Announcements
interrupt the music: its position is frozen, and when the last queued one ends
the music continues from there, playing or paused as it was. A player that ducks
(`ducking` "duck") keeps the music going under its announcements instead. With a
crossfade, the next track starts `crossfade_s` before the current one ends.
Every change of what is audible bumps `play_seq`, which device reports of an
ended item must name, so two devices cannot skip twice.

The state is plain attributes, stored as they are in a Zone's snapshot (a stored
shape: domain/shapes.py). Queries (`current`, `ends_at`) read it; commands
(`play`, `next`, `tick`) check the rules, decide and call transitions; transitions
(`_paused`, `_track_changed`) change it, never check (they re-run on replay) and
take what the zone's events carry. A bare `Player()` applies its transitions
directly (tests/unit/test_player.py); a Zone records each as its event.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from domain.playback import (
    AnnouncementItem,
    InvalidSeek,
    PlaybackError,
    QueueEmpty,
    QueueItem,
    build_queue,
    unique_items,
)
from domain.sound import SOUND_DEFAULTS

MAX_CATCH_UP = 1000  # items a single clock tick may play through
MS = timedelta(milliseconds=1)


class Player:
    """The playback state of one zone and its rules (see the module docstring)."""

    # The sound settings it plays by (domain/sound.py), which a Zone sets as its own:
    # a bare player does not crossfade, and pauses the music for announcements.
    crossfade_s: int = SOUND_DEFAULTS["crossfade_s"]
    ducking: str = SOUND_DEFAULTS["ducking"]

    def __init__(self) -> None:
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
        self.tracks_played = 0  # music tracks that ended or were skipped (schedules count)
        # the announcement playing was started ducking: the music plays on under it
        self.music_ducked = False

    # -- queries -------------------------------------------------------------------

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
        return self.position_ms + max(0, (now - self.position_at) // MS)

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

    # -- commands: music and announcements -------------------------------------------

    def play(self, items: list[QueueItem], *, shuffle: bool, source: dict[str, Any],
             rng: random.Random, now: datetime) -> None:
        """Replace the queue and start it from the top."""
        items = unique_items(items)
        if not items:
            raise QueueEmpty("nothing playable to play: the folders or tracks are empty")
        queue = build_queue(items, shuffle=shuffle, rng=rng)
        self._playback_started(queue=[i.as_dict() for i in queue], source=source,
                               shuffle=shuffle, at=now)

    def pause(self, now: datetime) -> None:
        if self.music_playing:
            self._paused(position_ms=self.music_position(now), at=now)

    def resume(self, now: datetime) -> None:
        if self.current is None:
            raise QueueEmpty("nothing to resume: start playback first")
        if not self.music_playing:
            self._resumed(at=now)

    def seek(self, position_ms: int, now: datetime) -> None:
        current = self.current
        if current is None:
            raise QueueEmpty("nothing to seek in: start playback first")
        if not 0 <= position_ms < current.duration_ms:
            raise InvalidSeek(f"position must be between 0 and {current.duration_ms - 1} ms")
        self._seeked(position_ms=position_ms, at=now)

    def next(self, now: datetime, rng: random.Random) -> None:
        """Skip: the announcement if one plays, else the current track."""
        if self.announcement is not None:
            self._announcement_finished(at=now, reason="skipped")
            return
        if not self.has_playable:
            raise QueueEmpty("nothing to skip to: the queue is empty")
        self._advance(now, rng, "skipped")

    def previous(self, now: datetime) -> None:
        if not self.has_playable:
            raise QueueEmpty("nothing to go back to: the queue is empty")
        index = self.queue_position
        for _ in range(len(self.queue)):
            index = (index - 1) % len(self.queue)
            if self.queue[index].item_id not in self.removed:
                break
        self._track_changed(queue_position=index, at=now, reason="previous", queue=None)

    def drop_tracks(self, track_ids: set[UUID], now: datetime, rng: random.Random) -> None:
        """Tracks deleted from the library: never played again (skipped if playing)."""
        gone = {i.item_id for i in self.queue} & (set(track_ids) - self.removed)
        if not gone:
            return
        current = self.current
        self._tracks_removed(track_ids=sorted(gone, key=str), at=now)
        if current is not None and current.item_id in gone and self.has_playable:
            self._advance(now, rng, "removed")

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

    def play_announcement(self, item: AnnouncementItem, now: datetime) -> None:
        """Interrupt the music now, or queue up behind the announcement playing."""
        if item.duration_ms <= 0:
            raise PlaybackError("the announcement has no audio yet")
        if self.announcement is not None:
            self._announcement_queued(announcement=item.as_dict())
        else:
            self._announcement_started(announcement=item.as_dict(), at=now,
                                       music_position_ms=self.music_position(now))

    # -- the clock and device reports ----------------------------------------------------

    def tick(self, now: datetime, rng: random.Random) -> int:
        """Play through every item whose end has passed by `now`; returns how many."""
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
        if play_seq != self.play_seq:
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

    # -- transitions (a Zone records each as its event of the same name) ----------------

    def _playback_started(self, queue: list[dict[str, Any]], source: dict[str, Any],
                          shuffle: bool, at: datetime) -> None:
        self.queue = [QueueItem.from_dict(i) for i in queue]
        self.source, self.shuffle, self.removed = source, shuffle, set()
        self.queue_position, self.music_playing, self.position_ms = 0, True, 0
        self.position_at = at
        if self.announcement is None:
            self.play_seq += 1

    def _paused(self, position_ms: int, at: datetime) -> None:
        self.music_playing, self.position_ms, self.position_at = False, position_ms, at

    def _resumed(self, at: datetime) -> None:
        self.music_playing, self.position_at = True, at

    def _seeked(self, position_ms: int, at: datetime) -> None:
        self.position_ms, self.position_at = position_ms, at

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

    def _tracks_removed(self, track_ids: list[UUID], at: datetime) -> None:
        self.removed |= set(track_ids)
        if not self.has_playable:
            self.music_playing, self.position_ms, self.position_at = False, 0, at

    def _announcement_started(self, announcement: dict[str, Any], at: datetime,
                              music_position_ms: int) -> None:
        self.announcement = AnnouncementItem.from_dict(announcement)
        self.announcement_started_at, self.position_ms = at, music_position_ms
        self.music_ducked = self.ducking == "duck"
        if self.music_ducked:  # the music plays on from here
            self.position_at = at
        self.play_seq += 1

    def _announcement_queued(self, announcement: dict[str, Any]) -> None:
        self.pending.append(AnnouncementItem.from_dict(announcement))

    def _announcement_finished(self, at: datetime, reason: str) -> None:
        if self.pending:
            self.announcement = self.pending.pop(0)
            self.announcement_started_at = at
        else:
            self.position_ms = self.music_position(at)
            self.announcement = self.announcement_started_at = None
            self.position_at, self.music_ducked = at, False
        self.play_seq += 1

    def _silenced(self) -> None:
        """Nothing plays any more, nor will (a deleted zone): part of another transition."""
        self.music_playing, self.announcement, self.pending = False, None, []
