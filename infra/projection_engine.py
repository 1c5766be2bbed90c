"""The projection engine: one follower per application, one worker per view.

A `Follower` is the one subscription of this process to an application's
notifications: one LISTEN, and each batch of new notifications (up to
`batch`) read and decoded once, then handed to every view of this process
that keeps up with it. It also holds the views' leadership (infra/leadership.py:
one advisory lock per view, so each view runs in one process at a time; the
views of an application may be led by different processes).

A `ViewWorker` (infra/view_worker.py) applies the batches to its view, each
view at its own position; a view that falls behind leaves the follower and
catches up from its own position before it joins again. A view far behind the
head (a new view, or a new version of one: its tables start empty) never drags
the follower back to its position: it catches up alone, a page of 1,000 events
per transaction as `sync2gear replay` does, and logs its progress every few
seconds.

While a view of this release is still being built (infra/view_versions.py), a
process leads only views with tables of their own: side-effect projections may
read a read model (queue clean-up asks which zones a client has), so they are
left to a process of the release before, or wait until every view has caught up.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from typing import Any

from eventsourcing.application import Application
from psycopg import sql

from infra.leadership import Leader
from infra.postgres import connect
from infra.projected_view import BATCH, Events, read_events
from infra.projection_spec import ProjectionSpec
from infra.supervised import Supervised
from infra.view_worker import INBOX, Delivery, ViewWorker

__all__ = ["Delivery", "Follower", "ViewWorker"]

log = logging.getLogger(__name__)

RECENT = 3  # batches a follower keeps for views joining it
STALL = 5.0  # seconds the follower waits for a view to take a batch before leaving it behind
ALONE_BEYOND = 5000  # events behind the head from which a view catches up alone


class Follower(Supervised):
    def __init__(self, application_class: type[Application[Any]], specs: Sequence[ProjectionSpec],
                 env: dict[str, str], database_url: str, *, batch: int = BATCH,
                 retry_seconds: float = 2.0, views_built: Callable[[], bool] | None = None
                 ) -> None:
        name = application_class.name
        super().__init__(f"{name}-follower", f"follow-{name}")
        self.app_name, self.batch = name, batch
        self._app_class, self._env, self._url = application_class, env, database_url
        self._retry = retry_seconds
        self._views_built = views_built or (lambda: True)
        self.app = application_class({**env, "CREATE_TABLE": "n"})
        self.workers = [ViewWorker(spec, env, self, retry_seconds) for spec in specs]
        self._leader = Leader(database_url, [w.name for w in self.workers])
        self._guard = threading.Lock()
        self._joined: set[ViewWorker] = set()
        self._position = 0  # the end of the last batch handed out
        self._recent: deque[Delivery] = deque(maxlen=RECENT)
        self._woken = threading.Event()  # a view joined: read without waiting for a save

    def start(self) -> None:
        super().start()
        for worker in self.workers:
            worker.start()

    def request_stop(self) -> None:
        super().request_stop()
        for worker in self.workers:
            worker.request_stop()

    def join(self, timeout: float) -> bool:
        """Wait for the follower and its workers; then close the pools they used."""
        deadline = time.monotonic() + timeout
        done = super().join(timeout)
        done = all([w.join(deadline - time.monotonic()) for w in self.workers]) and done
        if done:
            self.app.close()
            for worker in self.workers:
                worker.view.view.datastore.close()
        return done

    # -- for the workers -----------------------------------------------------------------

    def read(self, after: int, stop: int | None = None) -> Events:
        """The next batch of events after position `after` (up to `stop`), decoded."""
        return read_events(self.app, after, self.batch, stop)

    def head(self) -> int:
        """The application's last event."""
        return self.app.recorder.max_notification_id() or 0

    def enter(self, worker: ViewWorker) -> bool:
        """Let a worker at `worker.position` join, handing it the recent batches it lacks.
        Refused (it catches up alone) if it lacks them, or if it would be the first and
        is far behind the head: the views joining after it would wait for it."""
        at = worker.view.position
        if not self._joined and (head := self.head()) - at > ALONE_BEYOND:
            log.info("%s: %s events behind (at %s of %s); catching up alone", worker.label,
                     f"{head - at:,}", f"{at:,}", f"{head:,}")
            return False
        with self._guard:
            if not self._joined:
                self._position, self._recent = at, deque(maxlen=RECENT)
            elif at < self._position:
                missing = [d for d in self._recent if d.end > at]
                if not missing or missing[0].after > at or len(missing) > INBOX:
                    return False
                for delivery in missing:
                    worker.inbox.put_nowait(delivery)
            self._joined.add(worker)
            worker.joined = True
            self._woken.set()
            return True

    def leave(self, worker: ViewWorker) -> None:
        with self._guard:
            self._joined.discard(worker)
            worker.joined = False

    # -- the follower's own loop -----------------------------------------------------------

    def _loop(self) -> None:
        while not self._stopping.is_set():
            try:
                self._follow()
            except Exception as exc:
                log.exception("%s failed; restarting", self.name)
                self._set("failing", error=exc)
            finally:
                self._step_down()
            self._stopping.wait(self._retry)

    def _follow(self) -> None:
        app = self.app
        with connect(self._url) as listen:
            listen.execute(sql.SQL("LISTEN {}").format(
                sql.Identifier(app.recorder.channel_name)))  # type: ignore[attr-defined]
            campaign = read_at = 0.0
            unread = True
            while not self._stopping.is_set():
                if time.monotonic() >= campaign:
                    self._campaign()
                    campaign = time.monotonic() + self._retry
                if self._joined and (unread or self._woken.is_set()):
                    self._woken.clear()
                    unread, read_at = self._deliver() >= self.batch, time.monotonic()
                if not unread or not self._joined:  # until a save is announced (or a
                    # second has passed); with no view to hand batches to, never spin
                    notified = any(True for _ in listen.notifies(timeout=0.1, stop_after=1))
                    unread = notified or time.monotonic() - read_at > 1.0

    def _campaign(self) -> None:
        """Take the views' locks this process can take; the others stand by. Until
        every view of this release is built, only views with tables of their own."""
        only = None if self._views_built() else [w.name for w in self.workers if w.stateful]
        held = self._leader.acquire(only)
        for worker in self.workers:
            worker.lead(worker.name in held)
        self._set("running" if held else "standby", succeeded=True)

    def _deliver(self) -> int:
        with self._guard:
            after = self._position
        events = self.read(after)
        if not events:
            return 0
        delivery = Delivery(after, events)
        with self._guard:
            if self._position != after:  # a view joined an empty follower meanwhile
                return len(events)
            self._position = delivery.end
            self._recent.append(delivery)
            targets = list(self._joined)
        for worker in targets:
            try:
                worker.inbox.put(delivery, timeout=STALL)
            except queue.Full:
                log.warning("%s: %s fell behind; it catches up alone", self.name, worker.name)
                self.leave(worker)
        return len(events)

    def _step_down(self) -> None:
        self._leader.release()
        for worker in self.workers:
            worker.lead(False, standby=False)
        with self._guard:
            for worker in self._joined:
                worker.joined = False
            self._joined.clear()
