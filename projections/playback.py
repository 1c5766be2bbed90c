"""Zone read models: the zones table (with state, for queries and the ticker) and
the live state that devices follow (published through the LiveState port).

Both need a zone's whole state after each event. They keep the zones they have
seen in memory and apply each new event to them (exactly what replay does);
a zone they have not seen, or an event out of step, is loaded from the store
at that event's version.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any, Protocol
from uuid import UUID

from eventsourcing.dispatch import singledispatchmethod
from eventsourcing.persistence import Tracking, TrackingRecorder
from eventsourcing.projection import Projection

from domain.live_state import queue_of, zone_state
from domain.schedule_engine import ZoneFacts
from domain.sound import Loudness
from domain.zone import Zone
from projections.accounts import Page
from projections.batching import BatchProjection

Row = dict[str, Any]
ZoneLoader = Callable[[UUID, int], Zone]


class LiveState(Protocol):
    """Where the current state of each zone is kept for devices, and announced."""

    def publish(self, zone_id: str, version: int, state: dict[str, Any]) -> bool:
        """Store the state if `version` is newer than the stored one, and announce it.
        Returns False when a newer (or the same) version was already there."""

    def publish_many(self, states: Sequence[tuple[str, int, dict[str, Any]]]) -> list[bool]:
        """`publish` for each (zone id, version, state), in one round trip."""

    def current(self, zone_id: str) -> dict[str, Any] | None:
        """The latest stored state, with its `version`, or None."""


class ZoneFolder:
    """The latest state of recently seen zones, advanced event by event."""

    def __init__(self, load: ZoneLoader, size: int = 10_000) -> None:
        self._load = load
        self._zones: OrderedDict[UUID, Zone] = OrderedDict()
        self._size = size

    def peek(self, zone_id: UUID, version: int) -> Zone | None:
        """The cached zone, if it is at exactly `version` (read it before `apply`)."""
        zone = self._zones.get(zone_id)
        return zone if zone is not None and zone.version == version else None

    def apply(self, e: Zone.Event) -> Zone:
        zone_id, version = e.originator_id, e.originator_version
        zone = self._zones.pop(zone_id, None)
        if isinstance(e, Zone.Created):
            zone = e.mutate(None)
        elif zone is not None and zone.version == version - 1:
            e.mutate(zone)
        else:
            zone = self._load(zone_id, version)
        assert isinstance(zone, Zone)
        self._zones[zone_id] = zone
        if len(self._zones) > self._size:
            self._zones.popitem(last=False)
        return zone


class ZonesView(TrackingRecorder, ABC):
    @abstractmethod
    def save_zone(self, row: Row, tracking: Tracking) -> None: ...

    @abstractmethod
    def delete_zone(self, zone_id: UUID, tracking: Tracking) -> None: ...

    @abstractmethod
    def get_zone(self, zone_id: UUID) -> Row | None: ...

    @abstractmethod
    def list_zones(self, *, client_id: UUID | None, offset: int, limit: int) -> Page: ...

    @abstractmethod
    def zones_of_client(self, client_id: UUID) -> list[UUID]: ...

    @abstractmethod
    def schedule_facts(self, zone_ids: list[UUID]) -> dict[UUID, ZoneFacts]:
        """What the schedule engine needs of these zones (active ones only)."""

    @abstractmethod
    def due_zones(self, limit: int = 500) -> list[UUID]:
        """Zones whose audible item has ended by now (by the database clock)."""


def zone_row(zone: Zone, *, queue: bool = True) -> Row:
    """The zone's row (without its queue when `queue` is false)."""
    row = {
        "id": zone.id, "client_id": zone.client_id, "name": zone.name,
        "description": zone.description, "default_volume": zone.default_volume,
        "volume": zone.volume, "timezone": zone.timezone, "is_active": zone.is_active,
        "is_playing": zone.is_playing, "version": zone.version, "state": zone_state(zone),
        "ends_at": zone.ends_at(), **zone.sound,
        "schedule": {
            "music_key": zone.music_key, "tracks_played": zone.tracks_played,
            "manual_at": zone.manual_at.isoformat() if zone.manual_at else None,
            "marks": zone.schedule_marks, "fallback_folder_ids": zone.fallback_folder_ids,
        },
        "created_at": zone.created_on, "updated_at": zone.modified_on,
    }
    if queue:
        row["queue"] = queue_of(zone)
    return row


def zones_projection(load: ZoneLoader) -> type[Projection[ZonesView]]:
    folder = ZoneFolder(load)

    class ZonesProjection(BatchProjection[ZonesView]):
        """Each zone changed in a batch is written once, at the end, with its queue
        only if the queue changed since this projection last wrote it."""

        name = "zones_view"

        def __init__(self, view: ZonesView) -> None:
            super().__init__(view)
            self._changed: dict[UUID, Zone] = {}
            self._written_queues: dict[UUID, tuple[list[Any], int]] = {}
            self._tracking: Tracking | None = None

        @singledispatchmethod
        def process_event(self, domain_event: Any, tracking: Tracking) -> None:
            self._tracking = tracking
            if isinstance(domain_event, Zone.Event):
                zone = folder.apply(domain_event)
                self._changed[zone.id] = zone
            else:
                self.view.insert_tracking(tracking)

        def end_batch(self) -> None:
            tracking, changed = self._tracking, self._changed
            self._changed = {}
            assert tracking is not None or not changed
            for zone in changed.values():
                if zone.is_deleted:
                    self._written_queues.pop(zone.id, None)
                    self.view.delete_zone(zone.id, tracking)  # type: ignore[arg-type]
                else:
                    self.view.save_zone(zone_row(zone, queue=self._queue_changed(zone)),
                                        tracking)  # type: ignore[arg-type]

        def _queue_changed(self, zone: Zone) -> bool:
            """The queue is replaced whenever it changes, and only ever loses tracks
            to `removed`: the list and the count of removed tracks identify it."""
            written = self._written_queues.get(zone.id)
            if written is not None and written[0] is zone.queue \
                    and written[1] == len(zone.removed):
                return False
            self._written_queues[zone.id] = (zone.queue, len(zone.removed))
            return True

    return ZonesProjection


def live_state_projection(load: ZoneLoader, live: LiveState,
                          loudness: Callable[[list[Zone]], Mapping[UUID, Loudness]]
                          ) -> type[Projection[TrackingRecorder]]:
    """Publishes each zone's new state; the position is only kept after the
    state is out, so a failure (say, Redis down) retries it later. A zone that
    changed several times in a batch is published once, in its latest state
    (devices keep only the newest state anyway). Its items carry their gains,
    from `loudness(zones)` looked up once per batch."""
    folder = ZoneFolder(load)

    class LiveZoneStateProjection(BatchProjection[TrackingRecorder]):
        name = "live_zone_state"

        def __init__(self, view: TrackingRecorder) -> None:
            super().__init__(view)
            self._changed: dict[UUID, Zone] = {}

        @singledispatchmethod
        def process_event(self, domain_event: Any, tracking: Tracking) -> None:
            if isinstance(domain_event, Zone.Event):
                zone = folder.apply(domain_event)
                self._changed[zone.id] = zone
            self.view.insert_tracking(tracking)

        def end_batch(self) -> None:
            changed, self._changed = self._changed, {}
            if not changed:
                return
            measured = loudness(list(changed.values()))
            states = []
            for zone in changed.values():
                state = zone_state(zone, measured)
                if zone.is_deleted:  # its sockets are closed (4404)
                    state["is_deleted"] = True
                states.append((str(zone.id), zone.version, state))
            live.publish_many(states)

    return LiveZoneStateProjection


def queue_cleanup_projection(
    drop: Callable[[UUID], object],
) -> type[Projection[TrackingRecorder]]:
    """Follows the library: a deleted track leaves every queue of its client
    (`drop(track_id)`), so it is skipped and never played again."""
    from domain.track import Track

    class QueueCleanupProjection(Projection[TrackingRecorder]):
        name = "queue_cleanup"

        @singledispatchmethod
        def process_event(self, domain_event: Any, tracking: Tracking) -> None:
            if isinstance(domain_event, Track.Deleted):
                drop(domain_event.originator_id)
            self.view.insert_tracking(tracking)

    return QueueCleanupProjection


def facts_of_row(row: Row) -> ZoneFacts:
    schedule = row["schedule"] or {}
    manual_at = schedule.get("manual_at")
    return ZoneFacts(zone_id=row["id"], timezone=row["timezone"],
                     music_key=schedule.get("music_key"),
                     manual_at=datetime.fromisoformat(manual_at) if manual_at else None,
                     marks=schedule.get("marks") or {},
                     tracks_played=schedule.get("tracks_played") or 0)
