"""What the projection engine runs: a projection of an application's events into a view.

A spec names its view by the projection and the view's schema version
(infra/postgres/names.py): its runner, leader lock, lag and tracking table.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from eventsourcing.application import Application
from eventsourcing.projection import Projection

from infra.postgres.names import tracking_table_name, view_key, view_version
from infra.postgres.view import PostgresView


@dataclass(frozen=True)
class ProjectionSpec:
    application_class: type[Application[Any]]
    projection_class: type[Projection[Any]]
    view_class: type[Any]

    @property
    def name(self) -> str:
        """What its runner, its leader lock and its lag are called (`zones_view`, and
        `zones_view_v2` once the view is at version 2: infra/postgres/names.py)."""
        return view_key(self.projection_class.name, self.view_class)

    @property
    def version(self) -> int:
        return view_version(self.view_class)

    @property
    def tracking_table(self) -> str:
        return tracking_table_name(self.projection_class.name, self.view_class)

    @property
    def stateful(self) -> bool:
        """Its view is tables of its own (a PostgresView): rebuilt at will from the
        events. The others' output is elsewhere (jobs queued, Redis, commands)."""
        return isinstance(self.view_class, type) and issubclass(self.view_class, PostgresView)
