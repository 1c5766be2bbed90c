"""What every bounded context stands on: the servers (configured, or embedded),
the event store's environment, Redis, the job broker, media storage and tokens.

`open_kernel` decides which servers to talk to and opens the shared clients;
the contexts (infra/contexts/) build their applications and views on it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar, cast

import redis
from eventsourcing.application import Application
from eventsourcing.persistence import TrackingRecorder

from application.ports import BlobStorage
from application.queries import ReadModel, ReadModelLagging
from application.services import MediaUrls
from infra.auth_cache import RedisAuthCache
from infra.embedded import EmbeddedServers
from infra.jobs import Jobs, redis_broker
from infra.mail import build_mailer
from infra.postgres import construct_view, eventsourcing_env
from infra.postgres.view import PostgresView
from infra.ratelimit import RateLimiter
from infra.security import TokenService
from infra.settings import Settings
from infra.storage import LocalStorage, S3Storage

TView = TypeVar("TView", bound=PostgresView)
V = TypeVar("V")
ViewClasses = Mapping[type[PostgresView], type[PostgresView]]


@dataclass
class Kernel:
    settings: Settings
    database_url: str
    redis_url: str
    es_env: dict[str, str]
    redis: redis.Redis
    jobs: Jobs
    storage: BlobStorage
    tokens: TokenService
    auth_cache: RedisAuthCache
    rate_limiter: RateLimiter
    clock: Callable[[], datetime] | None  # None: the real clock
    view_classes: ViewClasses  # a test's next release of a view, by the view it replaces
    embedded: EmbeddedServers | None = None

    @property
    def clocked(self) -> dict[str, Any]:
        """The keyword that sets an application's clock (none: its own)."""
        return {} if self.clock is None else {"clock": self.clock}

    @property
    def urls(self) -> MediaUrls:
        return MediaUrls(self.storage, self.settings.media_url_ttl_seconds)

    def view(self, name: str, default: type[TView]) -> TView:
        """The view of projection `name` (its class replaced if a test asked)."""
        return construct_view(name, cast(type[TView], self.view_classes.get(default, default)),
                              self.es_env)

    def read_model(self, view: V, application: Application[Any]) -> ReadModel[V]:
        """`view` (a tracking recorder following `application`) with its waiting."""
        def wait(position: int | None) -> None:
            wait_until(cast(TrackingRecorder, view), application.name, position,
                       self.settings.wait_for_position_timeout)
        return ReadModel(view, wait, application.recorder.max_notification_id)

    def close(self) -> None:
        self.jobs.broker.close()
        self.redis.close()
        if self.embedded is not None:
            self.embedded.close()


def wait_until(view: TrackingRecorder, app_name: str, position: int | None,
               timeout: float) -> None:
    """Block until `view` has applied `position` of `app_name` (ReadModelLagging)."""
    if position is None:
        return
    deadline = time.monotonic() + timeout
    delay = 0.005
    while not view.has_tracking_id(app_name, position):
        if time.monotonic() > deadline:
            raise ReadModelLagging(position, timeout)
        time.sleep(delay)
        delay = min(delay * 2, 0.2)


def open_kernel(settings: Settings, *, clock: Callable[[], datetime] | None = None,
                views: ViewClasses | None = None) -> Kernel:
    s = settings
    embedded = None if s.database_url and s.redis_url else EmbeddedServers(s.data_dir)
    database_url = s.database_url or _embedded(embedded).postgres_url()
    redis_url = s.redis_url or _embedded(embedded).redis_url()
    es_env = eventsourcing_env(
        database_url, pool_size=s.db_pool_size, max_overflow=s.db_max_overflow,
        pool_timeout=s.db_pool_timeout, reconnect_timeout=s.db_reconnect_timeout,
        statement_timeout=s.db_statement_timeout, lock_timeout=s.db_lock_timeout,
        idle_in_transaction_timeout=s.db_idle_in_transaction_timeout,
        aggregate_cache_size=s.aggregate_cache_size,
    )
    smtp = build_mailer(s)
    broker = redis_broker(redis_url, s.redis_prefix,
                          heartbeat_timeout_ms=s.worker_heartbeat_timeout_ms,
                          maintenance_chance=s.worker_maintenance_chance)
    client = redis.Redis.from_url(redis_url, socket_timeout=2, socket_connect_timeout=2)
    tokens = TokenService(s.jwt_secret.get_secret_value(),
                          timedelta(seconds=s.access_token_ttl_seconds),
                          timedelta(seconds=s.refresh_token_ttl_seconds))
    return Kernel(
        settings=s, database_url=database_url, redis_url=redis_url, es_env=es_env,
        redis=client, jobs=Jobs(broker, mailer=lambda: smtp, mail_queue=s.mail_queue),
        storage=build_storage(s), tokens=tokens,
        auth_cache=RedisAuthCache(client, s.redis_prefix),
        rate_limiter=RateLimiter(redis_url, s.redis_prefix, s.rate_limits),
        clock=clock, view_classes=views or {}, embedded=embedded)


def build_storage(settings: Settings) -> BlobStorage:
    if settings.storage_backend == "s3":
        assert settings.s3_bucket is not None
        secret = settings.aws_secret_access_key
        return S3Storage(
            bucket=settings.s3_bucket, region=settings.s3_region,
            endpoint_url=settings.s3_endpoint_url, access_key_id=settings.aws_access_key_id,
            secret_access_key=secret.get_secret_value() if secret else None,
            create_bucket=settings.s3_create_bucket,
        )
    return LocalStorage(
        settings.media_root, settings.media_signing_key.get_secret_value().encode(),
        settings.public_url,
    )


def _embedded(embedded: EmbeddedServers | None) -> EmbeddedServers:
    assert embedded is not None
    return embedded
