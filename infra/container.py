"""What `bootstrap()` returns: the kernel, the contexts' parts and the dispatcher.

It starts and stops the projection runners, the leader loops and the worker;
it waits for and measures the read models the contexts declared; and it
answers for the process's health (`SystemStatus`). Entry points and tests
reach the parts through `ContainerParts`; routes never see it: they ask for
ports (application/services.py).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from eventsourcing.application import Application
from eventsourcing.persistence import TrackingRecorder

from application.services import SYSTEM, RunnerStatus
from infra.auth_cache import AsyncAuthCacheReader
from infra.container_parts import ContainerParts
from infra.contexts import Built, Context, Job
from infra.contexts.accounts import AccountsParts
from infra.contexts.devices import DevicesParts
from infra.contexts.library import LibraryParts
from infra.housekeeping import Housekeeping
from infra.kernel import Kernel, wait_until
from infra.metrics import Metrics, SystemCollector, redis_queue_depths
from infra.postgres import construct_view, schema_lock
from infra.postgres.view import PositionView
from infra.projection_runner import ProjectionSpec, Supervised, create_tables, start_engine
from infra.ticker import LeaderLoop
from infra.view_versions import ViewVersions

Lagging = tuple[TrackingRecorder, str]  # a view, and the application it follows


@dataclass
class Container(ContainerParts):
    kernel: Kernel
    built: Built
    contexts: tuple[Context[Any], ...]
    steps: list[Job]  # the leader loops' steps (`start_clock` starts some)
    metrics: Metrics | None = None
    projections: list[Supervised] = field(default_factory=list)
    loops: list[LeaderLoop] = field(default_factory=list)
    view_versions: ViewVersions = field(init=False)
    _followed: dict[str, list[Lagging]] = field(default_factory=dict)  # by view and context

    def __post_init__(self) -> None:
        schema = self.es_env.get("POSTGRES_SCHEMA") or "public"
        heads = {app.name: app for app in self.applications}
        self.view_versions = ViewVersions(
            self.database_url, schema, self.specs,
            lambda name: heads[name].recorder.max_notification_id() or 0)
        self.ports.provide(SYSTEM, self)
        self.steps.append(Job("housekeeping", self.settings.housekeeping_seconds,
                              self.housekeeping().run))

    def prepare(self) -> None:
        """Before any traffic: every view's table (runners run no DDL), the views'
        versions, and what lag and waiting read."""
        with schema_lock(self.database_url):
            self._followed = self._follow()
            self.metrics = Metrics(SystemCollector(
                lag=self.projection_lag, devices=self.devices_view.count_devices,
                queues=redis_queue_depths(self.redis, self.jobs.namespace, self.jobs.queues)))
            create_tables(self.specs, self.es_env)
            self.view_versions.register()

    def _follow(self) -> dict[str, list[Lagging]]:
        """Each projection's view (and the application it follows) by the names it is
        waited for by: the projection's, the view's (`zones_view_v2`) and, with every
        view of its context's application, the context's."""
        followed: dict[str, list[Lagging]] = {}
        for context in self.contexts:
            parts = self.built.named(context.name)
            for spec in parts.specs:
                name = spec.projection_class.name
                view = parts.views.get(name) or construct_view(name, PositionView, self.es_env)
                lagging = (view, spec.application_class.name)
                followed[name] = followed[spec.name] = [lagging]
                if spec.stateful:
                    followed.setdefault(context.name, []).append(lagging)
        return followed

    # -- starting and stopping ------------------------------------------------------

    def start_projections(self) -> None:
        """One engine for every view: a follower per application, a worker per view."""
        self.projections.extend(start_engine(self.specs, self.es_env, self.database_url,
                                             views_built=self.view_versions.all_built))

    def start_clock(self, loops: Iterable[str] = ("playback-ticker", "presence-sweeper",
                                                  "scheduler", "subscriptions",
                                                  "housekeeping")) -> None:
        """The leader loops named (safe to start on every replica: one of each runs
        at a time), once the views they read are built."""
        wanted = set(loops)
        for job in self.steps:
            if job.name in wanted:
                loop = LeaderLoop(job.name, self.database_url, job.interval, job.step,
                                  self.view_versions.all_built)
                loop.start()
                self.loops.append(loop)

    def housekeeping(self, clock: Callable[[], datetime] | None = None) -> Housekeeping:
        """Expired sessions and pairing codes, orphaned media (infra/housekeeping.py)."""
        s, accounts = self.settings, self.built.of(AccountsParts)
        devices, library = self.built.of(DevicesParts), self.built.of(LibraryParts)
        return Housekeeping(
            accounts=accounts.application, devices=devices.application,
            library=library.application, accounts_view=accounts.view,
            devices_view=devices.view, library_view=library.view, storage=self.storage,
            redis_client=self.redis, prefix=s.redis_prefix, clock=clock or self.playback.clock,
            session_lifetime=timedelta(seconds=s.refresh_token_ttl_seconds),
            orphan_grace=timedelta(seconds=s.orphan_grace_seconds))

    def close(self, timeout: float | None = None) -> None:
        """Stop the worker, clocks and runners together, waiting at most `timeout` s
        (half of SHUTDOWN_TIMEOUT by default: a thread still stuck then is left to the
        process's exit); close every pool; stop the embedded servers this process owns."""
        budget = self.settings.shutdown_timeout / 2 if timeout is None else timeout
        deadline = time.monotonic() + budget
        worker = threading.Thread(target=self.jobs.stop_worker, daemon=True)
        worker.start()
        supervised = [*self.loops, *self.projections]
        for loop in supervised:
            loop.request_stop()
        for loop in supervised:
            loop.join(deadline - time.monotonic())
        worker.join(max(0.0, deadline - time.monotonic()))
        self.projections.clear()
        for app in self.applications:
            app.close()
        for view, _ in self._lagging().values():
            view.datastore.close()  # type: ignore[attr-defined]
        if self.metrics is not None:
            self.metrics.close()
        self.kernel.close()

    def auth_reader(self) -> AsyncAuthCacheReader:
        """The session cache, read on an HTTP app's event loop (closed by the app)."""
        return AsyncAuthCacheReader(self.redis_url, self.settings.redis_prefix)

    # -- the read models -------------------------------------------------------------

    def wait(self, name: str, position: int | None, timeout: float | None = None) -> None:
        """Block until the read model `name` (a projection's name, or a context's: all
        its views) has applied `position` of the application it follows."""
        for view, app_name in self._followed[name]:
            wait_until(view, app_name, position,
                       timeout or self.settings.wait_for_position_timeout)

    def projection_lag(self) -> dict[str, int]:
        """Events each read model (by its view's name) is behind its application."""
        heads = {app.name: app.recorder.max_notification_id() or 0
                 for app in self.applications}
        return {name: heads[app_name] - (view.max_tracking_id(app_name) or 0)
                for name, (view, app_name) in self._lagging().items()}

    def _lagging(self) -> dict[str, Lagging]:
        return {spec.name: self._followed[spec.name][0] for spec in self.specs
                if spec.name in self._followed}

    # -- SystemStatus ----------------------------------------------------------------

    def ping_postgres(self) -> None:
        with self.accounts_view.datastore.transaction(commit=False) as curs:
            curs.execute("SELECT 1")

    def ping_redis(self) -> None:
        self.redis.ping()

    def runners(self) -> list[RunnerStatus]:
        return [s.status() for s in [*self.projections, *self.loops]]

    def building(self) -> dict[str, dict[str, Any]]:
        return {b.name: b.as_dict() for b in self.view_versions.building()}

    def events_stored(self) -> dict[str, int]:
        tables = {app.name: getattr(app.recorder, "events_table_name", f"{app.name}_events")
                  for app in self.applications}
        return self.accounts_view.count_stored_events(tables)

    @property
    def specs(self) -> list[ProjectionSpec]:
        return [spec for parts in self.built.all() for spec in parts.specs]

    @property
    def applications(self) -> list[Application[Any]]:
        return [p.application for p in self.built.all() if p.application is not None]
