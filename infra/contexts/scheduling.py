"""The scheduling context: schedules, and the scheduler that carries them out."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from application.scheduling import SchedulingApplication
from application.services import SCHEDULES
from infra.contexts import Built, Context, Job, Parts, Wired
from infra.contexts.library import LibraryParts
from infra.contexts.playback import PlaybackParts
from infra.kernel import Kernel
from infra.postgres.schedules_view import PostgresSchedulesView
from infra.projection_spec import ProjectionSpec
from infra.scheduler import Scheduler
from interfaces.http import decisions, schedules
from projections.scheduling import SchedulesProjection


@dataclass(kw_only=True)
class SchedulingParts(Parts):
    application: SchedulingApplication
    view: PostgresSchedulesView
    scheduler: Scheduler | None = None  # once the commands are wired (`jobs`)


def build(kernel: Kernel, built: Built) -> SchedulingParts:
    view = kernel.view(SchedulesProjection.name, PostgresSchedulesView)
    # The view counts a client's schedules once, when its roster opens.
    app = SchedulingApplication(
        kernel.es_env, catalog=built.of(LibraryParts).catalog,
        zone_owner=built.of(PlaybackParts).application.zone_owner,
        existing_schedules=view.schedules_of_client, **kernel.clocked)
    built.ports.provide(SCHEDULES, kernel.read_model(view, app))
    return SchedulingParts(
        application=app, view=view,
        specs=[ProjectionSpec(SchedulingApplication, SchedulesProjection, type(view))],
        views={SchedulesProjection.name: view})


def jobs(parts: SchedulingParts, wired: Wired) -> list[Job]:
    settings, playback = wired.built.kernel.settings, wired.built.of(PlaybackParts)
    parts.scheduler = Scheduler(
        wired.dispatcher, parts.view, playback.zones_view,
        grace=timedelta(seconds=settings.schedule_grace_seconds),
        clock=playback.application.clock)
    return [Job("scheduler", settings.schedule_tick_seconds, parts.scheduler.tick)]


SCHEDULING_CONTEXT = Context("scheduling", build, jobs,
                             routers=(schedules.router, decisions.router))
