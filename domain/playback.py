"""Playback values and pure policies: queue items and how queues are built."""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any
from uuid import UUID

from domain.base import DomainError


class PlaybackError(DomainError):
    """Base of the playback context's broken rules."""


class QueueEmpty(PlaybackError):
    pass


class InvalidSeek(PlaybackError):
    pass


class InvalidVolume(PlaybackError):
    pass


class ZoneInactive(PlaybackError):
    pass


class AnnouncementNotReady(PlaybackError):
    """The announcement has no playable audio (yet)."""


_QUEUE_KEYS = {"item_id", "duration_ms", "media_key", "content_type", "title", "artist",
               "cover_key"}


@lru_cache(maxsize=65_536)
def _uuid(text: str) -> UUID:
    """Parsed once: the same tracks come back in queue after queue."""
    return UUID(text)


@dataclass(frozen=True)
class QueueItem:
    """A track as playback needs it, copied from the library when a queue is built."""

    item_id: UUID
    duration_ms: int
    media_key: str
    content_type: str
    title: str
    artist: str = ""
    cover_key: str | None = None

    def __deepcopy__(self, memo: dict[int, Any]) -> QueueItem:
        return self  # immutable: a copied zone shares its items (a command copies the zone)

    def as_dict(self) -> dict[str, Any]:
        # By hand: dataclasses.asdict deep-copies every field (it was most of a replay).
        return {"item_id": str(self.item_id), "duration_ms": self.duration_ms,
                "media_key": self.media_key, "content_type": self.content_type,
                "title": self.title, "artist": self.artist, "cover_key": self.cover_key}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> QueueItem:
        if data.keys() == _QUEUE_KEYS:  # the shape `as_dict` writes: the fast path
            key = (data["item_id"], data["duration_ms"], data["media_key"],
                   data["content_type"], data["title"], data["artist"], data["cover_key"])
            item = _ITEMS.get(key)
            if item is None:  # immutable, so the same values can share one item
                item = cls(_uuid(str(key[0])), *key[1:])
                if len(_ITEMS) >= _ITEMS_MAX:
                    _ITEMS.clear()
                _ITEMS[key] = item
            return item
        return cls(**{**data, "item_id": UUID(str(data["item_id"]))})


# Items already made, by their values: the same tracks come back in queue after
# queue, and a replay folds thousands of queues (making each item was a tenth of
# a zone view's rebuild).
_ITEMS: dict[tuple[Any, ...], QueueItem] = {}
_ITEMS_MAX = 65_536


@dataclass(frozen=True)
class AnnouncementItem:
    announcement_id: UUID
    duration_ms: int
    media_key: str
    content_type: str
    title: str
    schedule_id: str | None = None  # set when a schedule caused it

    def __deepcopy__(self, memo: dict[int, Any]) -> AnnouncementItem:
        return self  # immutable, as QueueItem

    def as_dict(self) -> dict[str, Any]:
        return {"announcement_id": str(self.announcement_id), "duration_ms": self.duration_ms,
                "media_key": self.media_key, "content_type": self.content_type,
                "title": self.title, "schedule_id": self.schedule_id}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> AnnouncementItem:
        return cls(**{**data, "announcement_id": UUID(str(data["announcement_id"]))})


def unique_items(items: Sequence[QueueItem]) -> list[QueueItem]:
    """Each track once, in first-seen order (a track may sit in two folders)."""
    seen: set[UUID] = set()
    out = []
    for item in items:
        if item.item_id not in seen and item.duration_ms > 0:
            seen.add(item.item_id)
            out.append(item)
    return out


def build_queue(
    items: Sequence[QueueItem], *, shuffle: bool, rng: random.Random,
    avoid_first: UUID | None = None,
) -> list[QueueItem]:
    """The play order: as given, or shuffled so it does not start with `avoid_first`."""
    queue = list(items)
    if not shuffle:
        return queue
    rng.shuffle(queue)
    if avoid_first is not None and len(queue) > 1 and queue[0].item_id == avoid_first:
        swap = rng.randrange(1, len(queue))
        queue[0], queue[swap] = queue[swap], queue[0]
    return queue


def check_volume(volume: int) -> int:
    if not 0 <= volume <= 100:
        raise InvalidVolume(f"volume must be between 0 and 100, not {volume}")
    return volume
