"""The server clock for playback: advances zones whose item has ended.

Runs as a leader (PostgreSQL advisory lock), so any number of processes may
start it; zone commands are idempotent in any case, so a double tick is harmless.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from typing import Any

from application.authz import Operator
from application.commands.playback import TickZone
from application.dispatch import Dispatcher
from domain.base import NotFound
from infra.leadership import Leader, LeadershipLost
from infra.supervised import Supervised
from projections.playback import ZonesView

log = logging.getLogger(__name__)
CLOCK = Operator("clock")


class LeaderLoop(Supervised):
    """Runs `step()` every `interval` seconds while this process leads `name`
    (infra/leadership.py); stands by while another process does, and, before it
    leads, until `views_built()`: the steps read read models, which a new release
    may still be building (infra/view_versions.py)."""

    def __init__(self, name: str, database_url: str, interval: float,
                 step: Callable[[], Any], views_built: Callable[[], bool] | None = None
                 ) -> None:
        super().__init__(name, name)
        self._interval, self._step = interval, step
        self._views_built = views_built or (lambda: True)
        self._leader = Leader(database_url, [name])

    def _loop(self) -> None:
        try:
            while not self._stopping.is_set():
                self._lead_or_wait()
        finally:
            self._leader.release()

    def _lead_or_wait(self) -> None:
        try:
            if not self._views_built() or not self._leader.acquire():
                self._set("standby", succeeded=True)
                self._stopping.wait(self._interval * 2)
                return
            while not self._stopping.is_set():
                self._safe_step()
                self._leader.check()  # the lock lives with its connection
                self._stopping.wait(self._interval)
        except LeadershipLost as exc:
            log.exception("%s lost its database connection; retrying", self.name)
            self._set("failing", error=exc)
            self._stopping.wait(2.0)

    def _safe_step(self) -> None:
        try:
            self._step()
        except Exception as exc:
            log.exception("%s step failed", self.name)
            self._set("failing", error=exc)
        else:
            self._set("running", succeeded=True)


def tick_due_zones(dispatcher: Dispatcher, zones: ZonesView) -> int:
    """Advance every zone whose item has ended by now (the clock's commands)."""
    ticked = 0
    for zone_id in zones.due_zones():
        try:
            dispatcher.dispatch(CLOCK, TickZone(zone_id), f"tick-{uuid.uuid4().hex}")
            ticked += 1
        except NotFound:
            continue
    return ticked
