"""The composition root: every entry point calls `bootstrap()` once.

It decides which servers to talk to (configured, or embedded), builds the
applications, views and adapters, and hands them out in one `Container`.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import redis

from application.accounts import AccountsApplication
from infra.embedded import EmbeddedServers
from infra.mail import build_mailer
from infra.postgres import construct_view, eventsourcing_env
from infra.postgres.accounts_view import PostgresAccountsView
from infra.projection_runner import ProjectionSpec, SupervisedProjection
from infra.ratelimit import RateLimiter
from infra.security import Argon2Hasher, TokenService
from infra.settings import Settings
from projections.accounts import AccountsProjection

log = logging.getLogger(__name__)

PROJECTIONS = (
    ProjectionSpec(AccountsApplication, AccountsProjection, PostgresAccountsView),
)


class ReadModelLagging(Exception):
    def __init__(self, position: int, timeout: float) -> None:
        super().__init__(f"read models did not reach position {position} within {timeout} s")
        self.position = position


@dataclass
class Container:
    settings: Settings
    database_url: str
    redis_url: str
    es_env: dict[str, str]
    redis: redis.Redis
    tokens: TokenService
    rate_limiter: RateLimiter
    accounts: AccountsApplication
    accounts_view: PostgresAccountsView
    embedded: EmbeddedServers | None = None
    projections: list[SupervisedProjection] = field(default_factory=list)

    def start_projections(self) -> None:
        for spec in PROJECTIONS:
            supervised = SupervisedProjection(spec, self.es_env, self.database_url)
            supervised.start()
            self.projections.append(supervised)

    def wait_for_accounts(self, position: int | None, timeout: float | None = None) -> None:
        """Block until the accounts read model has processed `position`."""
        if position is None:
            return
        timeout = timeout or self.settings.wait_for_position_timeout
        deadline = time.monotonic() + timeout
        delay = 0.005
        while not self.accounts_view.has_tracking_id(self.accounts.name, position):
            if time.monotonic() > deadline:
                raise ReadModelLagging(position, timeout)
            time.sleep(delay)
            delay = min(delay * 2, 0.2)

    def projection_lag(self) -> dict[str, int]:
        head = self.accounts.recorder.max_notification_id() or 0
        done = self.accounts_view.max_tracking_id(self.accounts.name) or 0
        return {"accounts_view": head - done}

    def close(self) -> None:
        for supervised in self.projections:
            supervised.stop()
        self.projections.clear()
        self.accounts.close()
        self.accounts_view.datastore.close()
        self.redis.close()
        if self.embedded is not None:
            self.embedded.close()


def bootstrap(
    settings: Settings | None = None, *, start_projections: bool | None = None
) -> Container:
    settings = settings or Settings()
    embedded = None
    if not settings.database_url or not settings.redis_url:
        embedded = EmbeddedServers(settings.data_dir)
    database_url = settings.database_url or _embedded(embedded).postgres_url()
    redis_url = settings.redis_url or _embedded(embedded).redis_url()
    es_env = eventsourcing_env(
        database_url, pool_size=settings.db_pool_size, max_overflow=settings.db_max_overflow
    )
    accounts = AccountsApplication(
        es_env,
        hasher=Argon2Hasher(),
        mailer=build_mailer(settings),
        reset_link=lambda token: f"{settings.public_url}/reset-password?token={token}",
    )
    container = Container(
        settings=settings,
        database_url=database_url,
        redis_url=redis_url,
        es_env=es_env,
        redis=redis.Redis.from_url(redis_url, socket_timeout=2, socket_connect_timeout=2),
        tokens=TokenService(
            settings.jwt_secret.get_secret_value(),
            timedelta(seconds=settings.access_token_ttl_seconds),
            timedelta(seconds=settings.refresh_token_ttl_seconds),
        ),
        rate_limiter=RateLimiter(redis_url, settings.redis_prefix, settings.login_rate_limit),
        accounts=accounts,
        accounts_view=construct_view(AccountsProjection.name, PostgresAccountsView, es_env),
        embedded=embedded,
    )
    run_here = settings.projections_in_process if start_projections is None else start_projections
    if run_here:
        container.start_projections()
    return container


def _embedded(embedded: EmbeddedServers | None) -> EmbeddedServers:
    assert embedded is not None
    return embedded


def configure_logging(settings: Settings) -> None:
    logging.basicConfig(
        level=settings.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )


def describe(container: Container) -> dict[str, Any]:
    return {
        "database": "embedded" if not container.settings.database_url else "configured",
        "redis": "embedded" if not container.settings.redis_url else "configured",
    }
