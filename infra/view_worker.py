"""A view worker: applies a follower's batches to one view (infra/projection_engine.py).

A `ViewWorker` applies the batches to its view (infra/projected_view.py: the
batch's rows and its last position in one transaction), each view at its own
position. A view that falls behind (it failed, stood by, or was too slow to
take the next batch in time) leaves the follower, reads from its own position
until it has caught up, then joins again: the follower hands it the recent
batches it lacks, or it goes on alone a little longer. A failing view holds up
nobody.
"""

from __future__ import annotations

import logging
import queue
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING

from infra.postgres import construct_view
from infra.projected_view import CatchUpLog, CommitPipeline, Events, ProjectedView
from infra.projection_spec import ProjectionSpec
from infra.read_ahead import read_ahead
from infra.supervised import Supervised

if TYPE_CHECKING:
    from infra.projection_engine import Follower

log = logging.getLogger(__name__)

INBOX = 4  # batches a view may have waiting
INLINE_BELOW = 50  # smaller batches are written by the worker itself: handing them to the
# writer thread (to stage the next batch meanwhile) costs more than it overlaps


@dataclass(frozen=True)
class Delivery:
    """Events read after position `after`, in order (the last one's position: `end`)."""

    after: int
    events: Events

    @property
    def end(self) -> int:
        return self.events[-1][1].notification_id


class ViewWorker(Supervised):
    """Applies batches to one view while this process leads it (each batch staged
    while the one before is written: infra/projected_view.py)."""

    def __init__(self, spec: ProjectionSpec, env: dict[str, str], follower: Follower,
                 retry_seconds: float) -> None:
        super().__init__(spec.name, f"view-{spec.name}")
        self.label, self.stateful = f"{spec.projection_class.name} v{spec.version}", spec.stateful
        view = construct_view(spec.projection_class.name, spec.view_class,
                              {**env, "CREATE_TABLE": "n"})
        self.view = ProjectedView(spec.projection_class, view, follower.app_name)
        self.inbox: queue.Queue[Delivery] = queue.Queue(maxsize=INBOX)
        self.joined = False
        self._follower, self._retry = follower, retry_seconds
        self._pipe = CommitPipeline(self.view)
        self._leading = threading.Event()
        self._active = False
        self.is_leader = self._leading

    def lead(self, leading: bool, *, standby: bool = True) -> None:
        """Set by the follower: this process holds the view's lock (or not: another
        process leads it, or this one lost its connection)."""
        if leading:
            self._leading.set()
            return
        if self._leading.is_set():
            self._leading.clear()
            self._follower.leave(self)
        if standby:
            self._set("standby", succeeded=True)

    def _loop(self) -> None:
        try:
            while not self._stopping.is_set():
                if self._leading.wait(0.2):
                    self._work()
                elif self._active:
                    self._stand_down()
        finally:
            self._pipe.close()

    def _work(self) -> None:
        self._active = True
        try:
            self._step()
        except Exception as exc:
            log.exception("view %s failed; it catches up again in %s s", self.name,
                          self._retry)
            self._stand_down()
            self._set("failing", error=exc)
            self._stopping.wait(self._retry)

    def _stand_down(self) -> None:
        """Out of the follower, nothing staged; the position is read again later."""
        self._active = False
        self._follower.leave(self)
        self._drop_inbox()
        self._pipe.drop()

    def _step(self) -> None:
        if not self.joined:
            self._pipe.flush()  # the follower hands out batches after the written position
            if not self._follower.enter(self):
                self._catch_up()
                return
        try:
            delivery = self.inbox.get(timeout=0.2)
        except queue.Empty:
            self._pipe.flush()
            self._set("running", succeeded=True)
            return
        if delivery.after > self.view.staged_position:  # something in between is missing
            self._follower.leave(self)
            return
        if len(delivery.events) < INLINE_BELOW:  # live: a few events, written here
            self._pipe.flush()
            self.view.apply(delivery.events)
            self._set("running", succeeded=True)
            return
        written = self._pipe.writes
        self._pipe.push(delivery.events)
        # Healthy again only once a batch has committed (a staged one may still fail).
        self._set("running", succeeded=self._pipe.writes > written)

    def _catch_up(self) -> None:
        """Behind the follower: read from this view's own position up to the head."""
        self._drop_inbox()
        applied, written = 0, self._pipe.writes
        progress, interrupted = CatchUpLog(self.label, self._follower.head), False
        for events in read_ahead(self._follower.read, self.view.staged_position,
                                 self._follower.batch):
            applied += self._pipe.push(events)
            progress.advance(len(events), events[-1][1].notification_id)
            self._set("running", succeeded=self._pipe.writes > written)
            if self._stopping.is_set() or not self._leading.is_set():
                interrupted = True
                break
        self._pipe.flush()
        if not interrupted:
            progress.finish(self.view.position)
        self._set("running", succeeded=True)  # every staged batch committed
        if not applied:
            self._stopping.wait(0.05)

    def _drop_inbox(self) -> None:
        while True:
            try:
                self.inbox.get_nowait()
            except queue.Empty:
                return
