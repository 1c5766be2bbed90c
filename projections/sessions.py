"""Session state, replayed: the backstop of the session guard's write-through.

The guard writes a revocation into its cache the moment the event is saved.
If that write failed (the cache was down, the process died), this projection,
following the accounts and devices stores, writes it again; it only moves on
once the cache took it, so a revocation is never lost.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from eventsourcing.dispatch import singledispatchmethod
from eventsourcing.persistence import Tracking, TrackingRecorder
from eventsourcing.projection import Projection

from projections.batching import BatchProjection

Saved = Callable[[Sequence[Any]], None]


def session_state_projection(name: str, saved: Saved) -> type[Projection[TrackingRecorder]]:
    """`saved(events)` writes the state the events changed (raising if it cannot);
    called once per batch, with the batch's events."""

    class SessionStateProjection(BatchProjection[TrackingRecorder]):
        def __init__(self, view: TrackingRecorder) -> None:
            super().__init__(view)
            self._events: list[Any] = []

        @singledispatchmethod
        def process_event(self, domain_event: Any, tracking: Tracking) -> None:
            self._events.append(domain_event)
            self.view.insert_tracking(tracking)

        def end_batch(self) -> None:
            events, self._events = self._events, []
            if events:
                saved(events)

    SessionStateProjection.name = name
    return SessionStateProjection
