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
from infra.postgres import connect
from infra.projection_runner import Supervised, try_lead
from projections.playback import ZonesView

log = logging.getLogger(__name__)
CLOCK = Operator("clock")


class LeaderLoop(Supervised):
    """Runs `step()` every `interval` seconds while holding the named advisory lock."""

    def __init__(self, name: str, database_url: str, interval: float,
                 step: Callable[[], Any]) -> None:
        super().__init__(name, name)
        self._url, self._interval, self._step = database_url, interval, step

    def _loop(self) -> None:
        while not self._stopping.is_set():
            try:
                with connect(self._url) as conn:
                    while not self._stopping.is_set() and not try_lead(conn, self.name):
                        self._set("standby", succeeded=True)
                        self._stopping.wait(self._interval * 2)
                    while not self._stopping.is_set():
                        self._safe_step()
                        conn.execute("SELECT 1")  # the lock lives with this connection
                        self._stopping.wait(self._interval)
            except Exception as exc:
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
