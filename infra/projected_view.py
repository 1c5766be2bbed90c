"""A view, its projection and its position: what applies batches of events.

The projection engine (live) and `sync2gear replay` (rebuilds) both apply
events through a `ProjectedView`: the projection sees each event of a batch,
then `end_batch()`; the view's writes are sealed into one batch, and written
with the move of its position to the batch's last event in one transaction.

`stage()` does the first part (Python), `write()` the second (the database),
so a `CommitPipeline` can stage the next batch while the previous one is being
written. After any failure nothing staged remains: the projection is made
anew (whatever it held back is gone), batches not yet written are dropped,
and the position is read again before the next batch.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from eventsourcing.application import Application
from eventsourcing.persistence import Tracking
from eventsourcing.projection import Projection
from psycopg import Connection
from psycopg.rows import DictRow

from infra.postgres.batch import Batch
from infra.postgres.view import BatchedRecorder
from projections.batching import BatchProjection

Events = Sequence[tuple[Any, Tracking]]
log = logging.getLogger(__name__)
PROGRESS_SECONDS = 5.0  # between two progress lines of a long catch-up
# Events read, applied and committed together at most (live catch-up and replay).
# A view writes each row a batch changed once, at its end: bigger batches rewrite
# less (zones_view rebuilt ~40% faster at 5,000 than at 1,000, `make bench`).
BATCH = 5000


def read_events(app: Application[Any], after: int, limit: int,
                stop: int | None = None) -> Events:
    """Up to `limit` of `app`'s events after position `after` (up to `stop`), decoded,
    each with its position."""
    notifications = app.recorder.select_notifications(after + 1, limit, stop=stop)
    return [(app.mapper.to_domain_event(n), Tracking(app.name, n.id)) for n in notifications]


@dataclass(frozen=True)
class Staged:
    batch: Batch
    start: int | None  # the stored position it continues from (None: none yet)
    end: int
    events: int


class ProjectedView:
    def __init__(self, projection_class: type[Projection[Any]], view: BatchedRecorder,
                 app_name: str) -> None:
        if projection_class.topics:
            raise ValueError(f"{projection_class.name}: projections filtered by topics are"
                             " not supported (every projection sees every event)")
        self.name = projection_class.name
        self.view, self.app_name = view, app_name
        self._projection_class = projection_class
        self._projection = projection_class(view=view)
        self._stored: int | None = None  # written
        self._tail: int | None = None  # staged (written or not)
        self._stale = True  # read the position before the next batch

    @property
    def position(self) -> int:
        """The last event written (0: none yet)."""
        self._refresh()
        return self._stored or 0

    @property
    def staged_position(self) -> int:
        """The last event staged (written, or being written)."""
        self._refresh()
        return self._tail or 0

    def reset(self) -> None:
        """After a failure: a new projection, nothing staged, the position read again."""
        self.view.abort_batch()
        self._projection = self._projection_class(view=self.view)
        self._stale = True

    def apply(self, events: Events, conn: Connection[DictRow] | None = None) -> int:
        """Stage and write the events after the view's position, in one transaction
        (`conn`'s if given: the caller commits). How many were new."""
        staged = self.stage(events)
        if staged is None:
            return 0
        try:
            self.write(staged, conn)
        except BaseException:
            self.reset()
            raise
        return staged.events

    def stage(self, events: Events) -> Staged | None:
        """Hand the events after the staged position to the projection; the batch to write."""
        self._refresh()
        after = self._tail or 0
        todo = [(e, t) for e, t in events if t.notification_id > after]
        if not todo:
            return None
        process = self._projection.process_event  # bound once: it is a dispatcher
        self.view.begin_batch()
        try:
            for event, tracking in todo:
                process(event, tracking)
            if isinstance(self._projection, BatchProjection):
                self._projection.end_batch()
            batch = self.view.seal_batch()
        except BaseException:
            self.reset()
            raise
        staged = Staged(batch, self._tail, todo[-1][1].notification_id, len(todo))
        self._tail = staged.end
        return staged

    def write(self, staged: Staged, conn: Connection[DictRow] | None = None) -> None:
        """Write a staged batch (its caller resets the view if this fails)."""
        self.view.write_batch(staged.batch, self.app_name, staged.start, staged.end, conn)
        self._stored = staged.end

    def _refresh(self) -> None:
        if self._stale:
            self._stored = self._tail = self.view.max_tracking_id(self.app_name)
            self._stale = False


class CommitPipeline:
    """Stages a view's next batch while its previous one is being written (on a
    thread of its own): the Python work of one batch overlaps the database work
    of the other. At most one batch is in flight; `flush()` waits for it."""

    def __init__(self, view: ProjectedView) -> None:
        self.view = view
        self._writer = ThreadPoolExecutor(1, thread_name_prefix=f"write-{view.name}")
        self._in_flight: Future[None] | None = None
        self.writes = 0  # batches written (committed): a worker is healthy once one more is

    def push(self, events: Events) -> int:
        """Stage the events (after the previous batch's write has begun); how many."""
        try:
            staged = self.view.stage(events)
            self.flush()
        except BaseException:
            self.drop()
            raise
        if staged is None:
            return 0
        self._in_flight = self._writer.submit(self.view.write, staged)
        return staged.events

    def flush(self) -> None:
        """Wait for the batch in flight; raises its failure (the view is then reset)."""
        in_flight, self._in_flight = self._in_flight, None
        if in_flight is not None:
            try:
                in_flight.result()
            except BaseException:
                self.view.reset()
                raise
            self.writes += 1

    def drop(self) -> None:
        """Wait for the batch in flight, ignoring its outcome, and reset the view."""
        in_flight, self._in_flight = self._in_flight, None
        if in_flight is not None:
            in_flight.exception()
        self.view.reset()

    def close(self) -> None:
        self.drop()
        self._writer.shutdown(wait=True)


class CatchUpLog:
    """The log of a view catching up: `zones_view v2: 120,000/450,000 events,
    38,000/s` every PROGRESS_SECONDS, and a last line when it has caught up, if it
    took that long (a short catch-up, the everyday kind, logs nothing)."""

    def __init__(self, label: str, head: Callable[[], int]) -> None:
        self._label, self._head = label, head
        self._began = time.monotonic()
        self._due = self._began + PROGRESS_SECONDS
        self._events, self._target, self._logged = 0, 0, False

    def advance(self, events: int, position: int) -> None:
        self._events += events
        now = time.monotonic()
        if now < self._due:
            return
        self._due = now + PROGRESS_SECONDS
        if position >= self._target:  # read the head again only once it is reached
            self._target = self._head()
        log.info("%s: %s/%s events, %s/s", self._label, f"{position:,}",
                 f"{max(self._target, position):,}", f"{self._rate(now):,.0f}")
        self._logged = True

    def finish(self, position: int) -> None:
        if self._logged:
            now = time.monotonic()
            log.info("%s: caught up at %s (%s events in %.1f s, %s/s)", self._label,
                     f"{position:,}", f"{self._events:,}", now - self._began,
                     f"{self._rate(now):,.0f}")

    def _rate(self, now: float) -> float:
        return self._events / max(now - self._began, 1e-9)
