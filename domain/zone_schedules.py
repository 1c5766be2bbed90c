"""A zone's record of what its schedules decided, which the schedule engine reads.

Evaluating the schedules again (late, twice, or in two processes) must decide
nothing new, so the zone remembers the last slot decided per schedule
(`schedule_marks`), the schedule window its music comes from (`music_key`), and
when a user last chose the music by hand (`manual_at`: it rules until the next
schedule boundary). The transitions replace these values, never change them in
place. The Zone mixes `ScheduleBook` in and records `_schedule_decided` as its
`Zone.ScheduleDecided` event.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING
from uuid import UUID

from domain.playback import PlaybackError
from domain.schedule_spec import Decision, ZoneFacts, is_newer


class ScheduleBook:
    """What the schedules decided for one zone."""

    timezone: str  # the zone's
    tracks_played: int  # the player's (domain/player.py)

    if TYPE_CHECKING:  # the aggregate's

        @property
        def id(self) -> UUID: ...

    def __init__(self) -> None:
        self.schedule_marks: dict[str, str] = {}  # schedule id -> last slot decided
        self.music_key: str | None = None  # the schedule window the music comes from
        self.manual_at: datetime | None = None  # when a user last chose the music

    def schedule_facts(self) -> ZoneFacts:
        return ZoneFacts(zone_id=self.id, timezone=self.timezone, music_key=self.music_key,
                         manual_at=self.manual_at, marks=self.schedule_marks,
                         tracks_played=self.tracks_played)

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

    # -- transitions ---------------------------------------------------------------------

    def _schedule_decided(self, schedule_id: UUID | None, action: str, slot: str, rule: str,
                          detail: str, outcome: str) -> None:
        if action in ("music", "fallback"):
            self.music_key, self.manual_at = slot, None
        else:
            self.schedule_marks = {**self.schedule_marks, str(schedule_id): slot}

    def _music_chosen_by_hand(self, at: datetime) -> None:
        """A user started music: it rules until the next schedule boundary."""
        self.manual_at, self.music_key = at, None
