"""Reading the next batch of events while the current one is applied.

A view catching up (or being rebuilt) reads a batch, applies it, reads the
next: `read_ahead` reads (and decodes) on a thread of its own, up to two
batches ahead, so the database's work on the next read overlaps the view's
work on this batch.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from eventsourcing.persistence import Tracking

Events = Sequence[tuple[Any, Tracking]]
Reader = Callable[[int, int | None], Events]  # (after, stop) -> the next batch


def read_ahead(read: Reader, after: int, limit: int, stop: int | None = None,
               depth: int = 2) -> Iterator[Events]:
    """The batches after position `after` (up to `stop`), each of at most `limit`
    events; ends after a batch shorter than `limit` (the head, at the time)."""
    batches: queue.Queue[Events | BaseException | None] = queue.Queue(maxsize=depth)
    done = threading.Event()

    def reader() -> None:
        position = after
        try:
            while not done.is_set() and (stop is None or position < stop):
                events = read(position, stop)
                if events:
                    _put(batches, events, done)
                    position = events[-1][1].notification_id
                if len(events) < limit:
                    break
        except BaseException as exc:
            _put(batches, exc, done)
        _put(batches, None, done)

    thread = threading.Thread(target=reader, name="read-ahead", daemon=True)
    thread.start()
    try:
        while (item := batches.get()) is not None:
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        done.set()
        thread.join()


def _put(batches: queue.Queue[Any], item: Any, done: threading.Event) -> None:
    while not done.is_set():
        try:
            batches.put(item, timeout=0.1)
            return
        except queue.Full:
            continue
