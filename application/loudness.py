"""Measured loudness as playback needs it: looked up for the items a zone's live
state shows, and kept in memory once known (a measurement never changes)."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterable
from uuid import UUID

from application.ports import LoudnessLookup
from domain.live_state import audible_ids
from domain.sound import Loudness
from domain.zone import Zone


class LoudnessCache:
    """One query for the items not measured as far as this process knows."""

    def __init__(self, lookup: LoudnessLookup, size: int = 100_000) -> None:
        self._lookup, self._size = lookup, size
        self._known: OrderedDict[UUID, Loudness] = OrderedDict()
        self._guard = threading.Lock()

    def of(self, ids: Iterable[UUID]) -> dict[UUID, Loudness]:
        wanted = set(ids)
        with self._guard:
            found = {i: self._known[i] for i in wanted if i in self._known}
        missing = wanted - found.keys()
        if missing:
            fresh = self._lookup.loudness_of(missing)
            found |= fresh
            with self._guard:
                self._known.update(fresh)
                while len(self._known) > self._size:
                    self._known.popitem(last=False)
        return found

    def for_zones(self, zones: Iterable[Zone]) -> dict[UUID, Loudness]:
        ids: set[UUID] = set()
        for zone in zones:
            ids |= audible_ids(zone)
        return self.of(ids)
