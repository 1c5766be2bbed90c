"""The loudness cache asks its lookup once per measured item, and for an item not
measured yet at most once per `retry_after` seconds (on a controlled clock)."""

from __future__ import annotations

import uuid
from collections.abc import Collection
from uuid import UUID

from application.loudness import LoudnessCache
from domain.sound import Loudness


class Measurements:
    """The LoudnessLookup port over a dict: the items measured so far; it notes
    each set of ids it is asked for."""

    def __init__(self) -> None:
        self.measured: dict[UUID, Loudness] = {}
        self.asked: list[set[UUID]] = []

    def loudness_of(self, ids: Collection[UUID]) -> dict[UUID, Loudness]:
        self.asked.append(set(ids))
        return {i: self.measured[i] for i in ids if i in self.measured}


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_measured_item_is_looked_up_once() -> None:
    lookup, item = Measurements(), uuid.uuid4()
    lookup.measured[item] = Loudness(-20.0, -3.0)
    cache = LoudnessCache(lookup)
    assert cache.of([item]) == {item: Loudness(-20.0, -3.0)}
    assert cache.of([item]) == {item: Loudness(-20.0, -3.0)}
    assert lookup.asked == [{item}]


def test_an_unmeasured_item_is_asked_for_again_only_after_retry_after() -> None:
    lookup, clock, item, other = Measurements(), Clock(), uuid.uuid4(), uuid.uuid4()
    cache = LoudnessCache(lookup, retry_after=5.0, clock=clock)
    assert cache.of([item]) == {}
    clock.now += 4.9
    lookup.measured[item] = Loudness(-9.0, -0.5)
    assert cache.of([item, other]) == {}  # `item` not asked again yet; `other` is new
    assert lookup.asked == [{item}, {other}]
    clock.now += 0.1
    assert cache.of([item]) == {item: Loudness(-9.0, -0.5)}
    clock.now += 60
    assert cache.of([item]) == {item: Loudness(-9.0, -0.5)}  # measured: kept for good
    assert lookup.asked == [{item}, {other}, {item}]


def test_the_cache_keeps_at_most_size_items_of_each_kind() -> None:
    lookup, clock = Measurements(), Clock()
    items = [uuid.uuid4() for _ in range(5)]
    cache = LoudnessCache(lookup, size=2, retry_after=5.0, clock=clock)
    cache.of(items)
    cache.of(items[:3])  # the oldest unmeasured entries were dropped: asked again
    assert len(lookup.asked) == 2 and lookup.asked[1] <= set(items[:3])
    assert lookup.asked[1]
