"""The composition root: every entry point calls `bootstrap()` once.

It opens the kernel (the servers, configured or embedded), builds each bounded
context as it declares itself (infra/contexts/), wires the one dispatcher over
them, and hands back the `Container` that runs them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from infra.container import Container
from infra.contexts import Built, Context
from infra.contexts.accounts import ACCOUNTS_CONTEXT
from infra.contexts.devices import DEVICES_CONTEXT
from infra.contexts.library import LIBRARY_CONTEXT
from infra.contexts.playback import PLAYBACK_CONTEXT
from infra.contexts.scheduling import SCHEDULING_CONTEXT
from infra.contexts.sessions import SESSIONS_CONTEXT
from infra.kernel import open_kernel
from infra.postgres import schema_lock
from infra.postgres.view import PostgresView
from infra.settings import Settings
from infra.wiring import wire

__all__ = ["CONTEXTS", "Container", "bootstrap", "describe"]

# In the order they are built: each may use what those before it built.
CONTEXTS: tuple[Context[Any], ...] = (
    ACCOUNTS_CONTEXT, LIBRARY_CONTEXT, PLAYBACK_CONTEXT, DEVICES_CONTEXT, SESSIONS_CONTEXT,
    SCHEDULING_CONTEXT)
# The leader loops an app process runs itself (the scheduler too, if so configured).
IN_PROCESS = ("playback-ticker", "presence-sweeper", "subscriptions", "housekeeping")


def bootstrap(
    settings: Settings | None = None, *, start_projections: bool | None = None,
    start_workers: bool | None = None, clock: Callable[[], datetime] | None = None,
    views: Mapping[type[PostgresView], type[PostgresView]] | None = None,
) -> Container:
    """Everything wired; `clock` replaces the real clock (tests of schedules); `views`
    replaces view classes (a test's next release of a view: a subclass at a new
    `schema_version`)."""
    settings = settings or Settings()
    kernel = open_kernel(settings, clock=clock, views=views)
    built = Built(kernel)
    with schema_lock(kernel.database_url):  # another process may be creating tables too
        for context in CONTEXTS:
            built.add(context.name, context.build(kernel, built))
    wired = wire(built)
    steps = [job for c in CONTEXTS for job in c.jobs(built.named(c.name), wired)]
    container = Container(kernel, built, CONTEXTS, steps)
    container.prepare()
    if settings.projections_in_process if start_projections is None else start_projections:
        container.start_projections()
        container.start_clock(IN_PROCESS + (("scheduler",) if settings.scheduler_in_process
                                            else ()))
    if settings.workers_in_process if start_workers is None else start_workers:
        kernel.jobs.start_worker(settings.worker_threads)
    return container


def describe(container: Container) -> dict[str, Any]:
    return {
        "database": "embedded" if not container.settings.database_url else "configured",
        "redis": "embedded" if not container.settings.redis_url else "configured",
    }
