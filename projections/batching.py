"""Projections that hold work back until the end of a batch of events.

The projection engine hands a projection the events of a batch one by one,
then calls `end_batch()`, then commits the view's rows and the batch's last
position together. A projection whose output is the latest state of
something (a zone's row, its live state) keeps what changed in the batch and
writes each thing once, in `end_batch()`, instead of once per event.
"""

from __future__ import annotations

from eventsourcing.persistence import TTrackingRecorder
from eventsourcing.projection import Projection


class BatchProjection(Projection[TTrackingRecorder]):
    """The engine makes a new one after a batch failed: nothing pending survives it."""

    def end_batch(self) -> None:
        """Write what the batch's events left pending (before the batch commits)."""
