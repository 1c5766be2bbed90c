"""The scheduler: on each tick, runs the schedule engine over every zone that has
active schedules and lets the zone carry out what is due.

The engine first runs on the read models (cheap, possibly a moment stale) to
find zones with something due; each such zone then decides again on its own
current state, which records every decided slot -- so a stale read model, a
repeated tick or a second scheduler never plays a slot twice.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable
from datetime import datetime, timedelta
from uuid import UUID

from application.authz import Operator
from application.commands.playback import ApplySchedules
from application.dispatch import Dispatcher
from domain.schedule_engine import ScheduleSpec, evaluate
from infra.metrics import SCHEDULER_FAILURES, SCHEDULER_TICKS, SCHEDULER_ZONES
from projections.playback import ZonesView
from projections.scheduling import SchedulesView, spec_of_row

log = logging.getLogger(__name__)
SCHEDULER = Operator("scheduler")


class Scheduler:
    def __init__(self, dispatcher: Dispatcher, schedules: SchedulesView,
                 zones: ZonesView, *, grace: timedelta,
                 clock: Callable[[], datetime]) -> None:
        self._dispatcher, self._schedules, self._zones = dispatcher, schedules, zones
        self._grace, self._clock = grace, clock
        self._cached: tuple[int | None, dict[UUID, list[ScheduleSpec]]] = (-1, {})

    def tick(self) -> int:
        """Evaluate every scheduled zone now; returns how many zones changed."""
        SCHEDULER_TICKS.inc()
        by_zone = self._specs_by_zone()
        if not by_zone:
            return 0
        facts = self._zones.schedule_facts(list(by_zone))
        now, changed = self._clock(), 0
        for zone_id, specs in by_zone.items():
            zone = facts.get(zone_id)
            if zone is None or not evaluate(specs, zone, now, self._grace):
                continue
            try:
                command = ApplySchedules(zone_id, tuple(specs), self._grace)
                if self._dispatcher.dispatch(SCHEDULER, command, f"schedule-{zone_id}"):
                    changed += 1
                    SCHEDULER_ZONES.inc()
            except Exception:  # one zone's failure must not stop the others
                SCHEDULER_FAILURES.inc()
                log.exception("schedules of zone %s failed", zone_id)
        return changed

    def _specs_by_zone(self) -> dict[UUID, list[ScheduleSpec]]:
        """Active schedules per zone, reloaded only when the schedules changed."""
        position = self._schedules.max_tracking_id("scheduling")
        if position == self._cached[0]:
            return self._cached[1]
        by_zone: dict[UUID, list[ScheduleSpec]] = defaultdict(list)
        for row in self._schedules.active_schedules():
            spec = spec_of_row(row)
            for zone_id in spec.zone_ids:
                by_zone[zone_id].append(spec)
        self._cached = (position, dict(by_zone))
        return self._cached[1]
