"""The playback context: zones, what they play live, their history; the zone sockets."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from uuid import UUID

from application.library import LibraryApplication
from application.playback import PlaybackApplication
from application.policies import DropDeletedTracks
from application.services import HISTORY, TIMELINE, ZONES
from infra.contexts import Built, Context, Job, Parts, Wired
from infra.contexts.library import LibraryParts
from infra.kernel import Kernel
from infra.live import RedisLiveState
from infra.postgres.history_view import PostgresZoneHistoryView
from infra.postgres.view import PositionView
from infra.postgres.zones_view import PostgresZonesView
from infra.projection_spec import ProjectionSpec
from infra.ticker import tick_due_zones
from interfaces import ws
from interfaces.http import history, reports, zones
from projections.history import history_projection
from projections.playback import (
    live_state_projection,
    queue_cleanup_projection,
    zones_projection,
)


@dataclass(kw_only=True)
class PlaybackParts(Parts):
    application: PlaybackApplication
    zones_view: PostgresZonesView
    history_view: PostgresZoneHistoryView
    live: RedisLiveState


def build(kernel: Kernel, built: Built) -> PlaybackParts:
    library = built.of(LibraryParts)
    zones_view = kernel.view("zones_view", PostgresZonesView)
    # The view counts a client's zones once, when its roster opens (the zones made
    # before rosters existed); after that, commands never read it.
    app = PlaybackApplication(kernel.es_env, **kernel.clocked,
                              existing_zones=zones_view.zones_of_client)

    def load_zone(zone_id: UUID, version: int) -> Any:
        return app.repository.get(zone_id, version=version)

    live = RedisLiveState(kernel.redis, kernel.settings.redis_prefix)
    history_class = history_projection(load_zone)
    history_view = kernel.view(history_class.name, PostgresZoneHistoryView)
    drop = DropDeletedTracks(library.application, app, zones_view.zones_of_client)
    built.ports.provide(ZONES, kernel.read_model(zones_view, app))
    built.ports.provide(HISTORY, kernel.read_model(history_view, app))
    built.ports.provide(TIMELINE, app)
    return PlaybackParts(
        application=app, zones_view=zones_view, history_view=history_view, live=live,
        specs=[
            ProjectionSpec(PlaybackApplication, zones_projection(load_zone), type(zones_view)),
            ProjectionSpec(PlaybackApplication, live_state_projection(
                load_zone, live, library.loudness.for_zones), PositionView),
            ProjectionSpec(PlaybackApplication, history_class, type(history_view)),
            ProjectionSpec(LibraryApplication, queue_cleanup_projection(drop), PositionView),
        ],
        views={"zones_view": zones_view, history_class.name: history_view})


def jobs(parts: PlaybackParts, wired: Wired) -> list[Job]:
    return [Job("playback-ticker", wired.built.kernel.settings.tick_seconds,
                lambda: tick_due_zones(wired.dispatcher, parts.zones_view))]


# Matched first: a reconnecting socket is not matched against every route, and
# the playback commands are the hot path.
PLAYBACK_CONTEXT = Context("playback", build, jobs, first=True, routers=(
    ws.router, zones.playback, zones.zones, history.router, reports.router))
