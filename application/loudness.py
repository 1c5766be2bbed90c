"""Measured loudness as playback needs it: looked up for the items a zone's live
state shows, and kept in memory once known (a measurement never changes).

An item not measured yet (its job still to run, or a file from before loudness
was measured) is asked for again only after `retry_after` seconds: a zone
playing unmeasured files costs a query every few seconds, not one per command.
Its gain, once measured, shows from the zone's next change after that.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from typing import Any
from uuid import UUID

from application.ports import LoudnessLookup
from domain.live_state import audible_ids
from domain.sound import Loudness
from domain.zone import Zone

RETRY_AFTER = 5.0  # seconds before an unmeasured item is looked up again


class LoudnessCache:
    """One query for the items not measured as far as this process knows."""

    def __init__(self, lookup: LoudnessLookup, size: int = 100_000,
                 retry_after: float = RETRY_AFTER,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._lookup, self._size = lookup, size
        self._retry_after, self._clock = retry_after, clock
        self._known: OrderedDict[UUID, Loudness] = OrderedDict()
        self._unmeasured: OrderedDict[UUID, float] = OrderedDict()  # id: when asked
        self._guard = threading.Lock()

    def of(self, ids: Iterable[UUID]) -> dict[UUID, Loudness]:
        wanted, now = set(ids), self._clock()
        with self._guard:
            found = {i: self._known[i] for i in wanted if i in self._known}
            missing = {i for i in wanted - found.keys()
                       if now - self._unmeasured.get(i, -self._retry_after)
                       >= self._retry_after}
        if missing:
            fresh = self._lookup.loudness_of(missing)
            found |= fresh
            with self._guard:
                self._known.update(fresh)
                _trim(self._known, self._size)
                for i in missing - fresh.keys():
                    self._unmeasured[i] = now
                    self._unmeasured.move_to_end(i)
                for i in fresh.keys() & self._unmeasured.keys():
                    del self._unmeasured[i]
                _trim(self._unmeasured, self._size)
        return found

    def for_zones(self, zones: Iterable[Zone]) -> dict[UUID, Loudness]:
        ids: set[UUID] = set()
        for zone in zones:
            ids |= audible_ids(zone)
        return self.of(ids)


def _trim(entries: OrderedDict[UUID, Any], size: int) -> None:
    while len(entries) > size:
        entries.popitem(last=False)
