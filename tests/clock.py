"""A controllable clock for applications, the scheduler and the golden stores: it
stands still until a test moves it (`clock.now = ...`), so every position is known."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

from infra.bootstrap import Container, bootstrap
from tests.conftest import make_settings


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@contextmanager
def clocked_container(test_database: str, servers: dict[str, str], redis_prefix: str,
                      tmp_path: Path, clock: Clock) -> Iterator[Container]:
    """A container on this run's database whose applications (and scheduler) read
    `clock`; it projects nothing and runs no jobs: the session container does."""
    settings = make_settings(test_database, servers, redis_prefix, tmp_path,
                             projections_in_process=False, workers_in_process=False)
    container = bootstrap(settings, start_projections=False, clock=clock)
    try:
        yield container
    finally:
        container.close()
