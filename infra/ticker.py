"""The server clock for playback: advances zones whose item has ended.

Runs as a leader (PostgreSQL advisory lock), so any number of processes may
start it; zone commands are idempotent in any case, so a double tick is harmless.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable
from typing import Any

import psycopg

from application.playback import PlaybackApplication
from domain.base import Actor, CommandContext, NotFound
from infra.projection_runner import leader_lock_key
from projections.playback import ZonesView

log = logging.getLogger(__name__)


class LeaderLoop:
    """Runs `step()` every `interval` seconds while holding the named advisory lock."""

    def __init__(self, name: str, database_url: str, interval: float,
                 step: Callable[[], Any]) -> None:
        self.name, self._url, self._interval, self._step = name, database_url, interval, step
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._loop, name=name, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stopping.set()
        self._thread.join(timeout)

    def _loop(self) -> None:
        while not self._stopping.is_set():
            try:
                with psycopg.connect(self._url, autocommit=True) as conn:
                    while not self._stopping.is_set():
                        row = conn.execute("SELECT pg_try_advisory_lock(%s)",
                                           (leader_lock_key(self.name),)).fetchone()
                        if row and row[0]:
                            break
                        self._stopping.wait(self._interval * 2)
                    while not self._stopping.is_set():
                        self._safe_step()
                        conn.execute("SELECT 1")  # the lock lives with this connection
                        self._stopping.wait(self._interval)
            except Exception:
                log.exception("%s lost its database connection; retrying", self.name)
                self._stopping.wait(2.0)

    def _safe_step(self) -> None:
        try:
            self._step()
        except Exception:
            log.exception("%s step failed", self.name)


def tick_due_zones(playback: PlaybackApplication, zones: ZonesView) -> int:
    ticked = 0
    for zone_id in zones.due_zones():
        ctx = CommandContext(Actor.system("clock"), f"tick-{uuid.uuid4().hex}")
        try:
            playback.tick(ctx, zone_id)
            ticked += 1
        except NotFound:
            continue
    return ticked
