"""Zone history and proof of play, for auditors.

One projection follows the playback store and writes, with each zone event,
a history entry (when, who, what changed) and, when what was audible changed,
the end of the previous play and the start of the next. Both go in with the
event's tracking position, so a restarted projection neither loses nor
repeats a play; a play's id derives from the event that started it.
"""

from __future__ import annotations

import uuid
from abc import ABC, abstractmethod
from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.dispatch import singledispatchmethod
from eventsourcing.persistence import Tracking, TrackingRecorder
from eventsourcing.projection import Projection

from domain.device import DevicePlay
from domain.zone import Zone
from projections.accounts import Page
from projections.playback import ZoneFolder, ZoneLoader

Row = dict[str, Any]
PLAYS = uuid.UUID("6c1a3c4e-0b7e-4a43-9d55-3f1e0c2b9a10")  # namespace of play ids
META = {"originator_id", "originator_version", "timestamp", "actor_kind", "actor_id",
        "correlation_id"}
END_REASONS = {"ended": "natural", "skipped": "skipped", "previous": "skipped",
               "removed": "stopped"}


class ZoneHistoryView(TrackingRecorder, ABC):
    @abstractmethod
    def record(self, entry: Row, close: Row | None, start: Row | None,
               tracking: Tracking) -> None:
        """Add the history entry; end the zone's open play (`close`: ended_at,
        end_reason) and start a new one (`start`), all in one transaction."""

    @abstractmethod
    def record_device_play(self, play: Row, tracking: Tracking) -> None:
        """Add a play a device reported making offline (`source` "device"); over its
        time it replaces the zone's own plays (cut, shortened or split), so the
        zone's record has neither a gap nor a double there. Once per play id."""

    @abstractmethod
    def list_entries(self, zone_id: UUID, since: datetime | None, until: datetime | None,
                     offset: int, limit: int) -> Page: ...

    @abstractmethod
    def version_at(self, zone_id: UUID, at: datetime) -> int | None:
        """The zone's version at `at` (its last event recorded by then)."""

    @abstractmethod
    def list_plays(self, *, client_id: UUID | None, zone_id: UUID | None,
                   since: datetime | None, until: datetime | None, offset: int,
                   limit: int) -> Page:
        """Plays overlapping [since, until], oldest first."""

    @abstractmethod
    def summarize_plays(self, *, group: str, client_id: UUID | None, zone_id: UUID | None,
                        since: datetime | None, until: datetime | None, offset: int,
                        limit: int) -> tuple[Page, Row]:
        """Plays started in [since, until] grouped by zone, track, announcement or
        client (rows: key, labels, plays, seconds; most heard first), and the totals."""

    @abstractmethod
    def list_decisions(self, zone_ids: list[UUID], since: datetime | None,
                       until: datetime | None, *, schedule_id: UUID | None = None,
                       action: str | None = None, limit: int = 10_000) -> list[Row]:
        """The zones' ScheduleDecided entries whose slot is in [since, until] (with
        `slot_at`), by slot."""


def audible(zone: Zone | None) -> tuple[str, UUID, int] | None:
    """What is heard: one play lasts while this stays the same."""
    if zone is None or zone.is_deleted:
        return None
    if zone.announcement is not None:
        return ("announcement", zone.announcement.announcement_id, zone.play_seq)
    current = zone.current
    if zone.music_playing and current is not None:
        return ("track", current.item_id, zone.play_seq)
    return None


def end_reason(e: Zone.Event) -> str:
    if isinstance(e, Zone.TrackChanged):
        return END_REASONS.get(e.reason, "stopped")
    if isinstance(e, Zone.AnnouncementStarted):
        return "interrupted"
    if isinstance(e, Zone.AnnouncementFinished):
        return END_REASONS.get(e.reason, "stopped")
    return "stopped"


def jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [jsonable(v) for v in value]
    if isinstance(value, (UUID, datetime)):
        return str(value) if isinstance(value, UUID) else value.isoformat()
    return value


def changes_of(e: Zone.Event) -> Row:
    """The event's own fields, JSON-ready (queues summarised by their length)."""
    out: Row = {}
    for key, value in vars(e).items():
        if key == "queue":
            out["queue_length"] = None if value is None else len(value)
        elif key not in META:
            out[key] = jsonable(value)
    return out


def summary(e: Zone.Event, zone: Zone) -> str:
    name = type(e).__name__
    heard = zone.announcement.title if zone.announcement else (
        zone.current.title if zone.current else None)
    if isinstance(e, Zone.ScheduleDecided):
        return f"schedule {e.action} ({e.rule}): {e.outcome}"
    if isinstance(e, Zone.TrackChanged):
        return f"track {e.reason}; now {heard!r}"
    if isinstance(e, Zone.PlaybackStarted):
        return f"started {len(e.queue)} tracks; now {heard!r}"
    if isinstance(e, (Zone.AnnouncementStarted, Zone.AnnouncementFinished)):
        return f"{name}; now {heard!r}" if heard else name
    if isinstance(e, Zone.VolumeChanged):
        return f"volume {e.volume}"
    if isinstance(e, Zone.Seeked):
        return f"seek to {e.position_ms // 1000} s"
    return name


def history_projection(load: ZoneLoader) -> type[Projection[ZoneHistoryView]]:
    folder = ZoneFolder(load)

    def before(e: Zone.Event) -> tuple[str, UUID, int] | None:
        if e.originator_version <= 1:
            return None
        zone = folder.peek(e.originator_id, e.originator_version - 1)
        return audible(zone if zone is not None else load(e.originator_id,
                                                          e.originator_version - 1))

    class ZoneHistoryProjection(Projection[ZoneHistoryView]):
        name = "zone_history"

        @singledispatchmethod
        def process_event(self, domain_event: Any, tracking: Tracking) -> None:
            if isinstance(domain_event, DevicePlay.Reported):
                self.view.record_device_play(device_play_row(domain_event), tracking)
                return
            if not isinstance(domain_event, Zone.Event):
                self.view.insert_tracking(tracking)
                return
            e, was = domain_event, before(domain_event)
            zone = folder.apply(e)
            now, at = audible(zone), getattr(e, "at", None) or e.timestamp
            entry = {"zone_id": zone.id, "version": e.originator_version, "at": e.timestamp,
                     "type": type(e).__name__, "actor_kind": e.actor_kind,
                     "actor_id": e.actor_id, "correlation_id": e.correlation_id,
                     "summary": summary(e, zone), "changes": changes_of(e)}
            if now == was:
                self.view.record(entry, None, None, tracking)
                return
            close = None if was is None else {"zone_id": zone.id, "ended_at": at,
                                              "end_reason": end_reason(e)}
            self.view.record(entry, close, None if now is None else play_row(zone, e, at),
                             tracking)

    return ZoneHistoryProjection


def play_row(zone: Zone, e: Zone.Event, at: datetime) -> Row:
    ann, current = zone.announcement, zone.current
    row: Row = {"id": uuid.uuid5(PLAYS, f"{zone.id}:{e.originator_version}"),
                "zone_id": zone.id, "client_id": zone.client_id, "started_at": at}
    if ann is not None:
        return {**row, "kind": "announcement", "item_id": ann.announcement_id,
                "title": ann.title, "artist": "", "duration_ms": ann.duration_ms,
                "schedule_id": ann.schedule_id}
    assert current is not None
    return {**row, "kind": "track", "item_id": current.item_id, "title": current.title,
            "artist": current.artist, "duration_ms": current.duration_ms,
            "schedule_id": zone.source.get("schedule_id")}


def device_play_row(e: DevicePlay.Reported) -> Row:
    """A device-reported play as a row of proof of play (its id: the aggregate's)."""
    return {"id": e.originator_id, "zone_id": e.zone_id, "client_id": e.client_id,
            "kind": e.kind, "item_id": e.item_id, "title": e.title, "artist": e.artist,
            "duration_ms": e.duration_ms, "schedule_id": e.schedule_id,
            "started_at": e.started_at, "ended_at": e.ended_at, "end_reason": e.end_reason,
            "source": "device", "device_id": e.device_id}
