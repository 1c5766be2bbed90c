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

Saved = Callable[[Sequence[Any]], None]


def session_state_projection(name: str, saved: Saved) -> type[Projection[TrackingRecorder]]:
    """`saved(events)` writes the state the events changed (raising if it cannot)."""

    class SessionStateProjection(Projection[TrackingRecorder]):
        @singledispatchmethod
        def process_event(self, domain_event: Any, tracking: Tracking) -> None:
            saved([domain_event])
            self.view.insert_tracking(tracking)

    SessionStateProjection.name = name
    return SessionStateProjection
