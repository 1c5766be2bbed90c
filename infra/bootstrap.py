"""The composition root: every entry point calls `bootstrap()` once.

It decides which servers to talk to (configured, or embedded), builds the
applications, views and adapters, and hands them out in one `Container`.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, TypeVar, cast
from uuid import UUID

import redis
from eventsourcing.persistence import TrackingRecorder

from application.accounts import AccountsApplication
from application.authz import caller_key
from application.devices import DevicesApplication
from application.dispatch import Dispatcher
from application.library import LibraryApplication
from application.loudness import LoudnessCache
from application.media_jobs import MediaProcessor
from application.plans import Plans
from application.playback import PlaybackApplication
from application.ports import BlobStorage
from application.scheduling import SchedulingApplication
from application.sessions import SessionGuard
from domain.base import Actor, CommandContext
from domain.quota import GB
from domain.track import Track
from infra.audio_analysis import AvAnalyzer
from infra.auth_cache import RedisAuthCache
from infra.catalog import LibraryCatalog
from infra.commands import build_dispatcher
from infra.embedded import EmbeddedServers
from infra.housekeeping import Housekeeping
from infra.jobs import Jobs, jobs_projection, redis_broker
from infra.live import RedisLiveState
from infra.mail import QueuedMailer, build_mailer
from infra.media import MutagenInspector, PillowImages
from infra.metrics import Metrics, SystemCollector, observe_command, redis_queue_depths
from infra.postgres import construct_view, eventsourcing_env, schema_lock
from infra.postgres.accounts_view import PostgresAccountsView
from infra.postgres.devices_view import PostgresDevicesView
from infra.postgres.history_view import PostgresZoneHistoryView
from infra.postgres.library_view import PostgresLibraryView
from infra.postgres.schedules_view import PostgresSchedulesView
from infra.postgres.view import PositionView, PostgresView
from infra.postgres.zones_view import PostgresZonesView
from infra.presence import Presence, PresenceSweeper, record_heartbeat
from infra.projection_runner import ProjectionSpec, Supervised, create_tables, start_engine
from infra.ratelimit import RateLimiter
from infra.scheduler import Scheduler
from infra.security import Argon2Hasher, TokenService
from infra.settings import Settings
from infra.storage import LocalStorage, S3Storage
from infra.ticker import LeaderLoop, tick_due_zones
from infra.tts import build_synthesizer
from infra.view_versions import ViewVersions
from projections.accounts import AccountsProjection
from projections.devices import DevicesProjection
from projections.history import history_projection
from projections.library import LibraryProjection
from projections.playback import (
    live_state_projection,
    queue_cleanup_projection,
    zones_projection,
)
from projections.scheduling import SchedulesProjection
from projections.sessions import session_state_projection

log = logging.getLogger(__name__)
TView = TypeVar("TView", bound=PostgresView)


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
    library: LibraryApplication
    library_view: PostgresLibraryView
    storage: BlobStorage
    inspector: MutagenInspector
    images: PillowImages
    jobs: Jobs
    processor: MediaProcessor
    loudness: LoudnessCache
    specs: list[ProjectionSpec]
    playback: PlaybackApplication
    zones_view: PostgresZonesView
    live: RedisLiveState
    devices: DevicesApplication
    devices_view: PostgresDevicesView
    presence: Presence
    catalog: LibraryCatalog
    scheduling: SchedulingApplication
    schedules_view: PostgresSchedulesView
    history_view: PostgresZoneHistoryView
    scheduler: Scheduler
    dispatcher: Dispatcher
    guard: SessionGuard
    auth_cache: RedisAuthCache
    plans: Plans
    view_versions: ViewVersions
    embedded: EmbeddedServers | None = None
    metrics: Metrics | None = None
    projections: list[Supervised] = field(default_factory=list)
    loops: list[LeaderLoop] = field(default_factory=list)
    _lag_views: dict[str, tuple[TrackingRecorder, str]] = field(default_factory=dict)

    def start_projections(self) -> None:
        """One engine for every view: a follower per application, a worker per view."""
        self.projections.extend(start_engine(self.specs, self.es_env, self.database_url,
                                             views_built=self.view_versions.all_built))

    def start_clock(self, loops: tuple[str, ...] = ("playback-ticker", "presence-sweeper",
                                                     "scheduler", "subscriptions",
                                                     "housekeeping")) -> None:
        """The playback ticker, the presence sweeper, the scheduler and the lapse of
        ended subscriptions (leaders: safe to start on every replica; one of each
        runs at a time)."""
        sweeper = PresenceSweeper(self.devices, self.devices_view, self.presence)

        def sweep() -> None:
            sweeper.sweep(lambda: CommandContext(Actor.system("presence"), "presence-sweep"))

        built = self.view_versions.all_built
        candidates = [
            LeaderLoop("playback-ticker", self.database_url, self.settings.tick_seconds,
                       lambda: tick_due_zones(self.dispatcher, self.zones_view), built),
            LeaderLoop("presence-sweeper", self.database_url,
                       self.settings.presence_sweep_seconds, sweep, built),
            LeaderLoop("scheduler", self.database_url, self.settings.schedule_tick_seconds,
                       self.scheduler.tick, built),
            LeaderLoop("subscriptions", self.database_url,
                       self.settings.subscription_check_seconds, self.review_subscriptions,
                       built),
            LeaderLoop("housekeeping", self.database_url, self.settings.housekeeping_seconds,
                       self.housekeeping().run, built),
        ]
        for loop in candidates:
            if loop.name in loops:
                loop.start()
                self.loops.append(loop)

    def review_subscriptions(self) -> int:
        """Lapse the clients whose subscription ended (at their local midnight)."""
        now = self.playback.clock()
        return self.plans.lapse_due(self.accounts_view.clients_to_review(now.date()), now)

    def housekeeping(self, clock: Callable[[], datetime] | None = None) -> Housekeeping:
        """Expired sessions and pairing codes, orphaned media (infra/housekeeping.py)."""
        s = self.settings
        return Housekeeping(
            accounts=self.accounts, devices=self.devices, library=self.library,
            accounts_view=self.accounts_view, devices_view=self.devices_view,
            library_view=self.library_view, storage=self.storage, redis_client=self.redis,
            prefix=s.redis_prefix, clock=clock or self.playback.clock,
            session_lifetime=timedelta(seconds=s.refresh_token_ttl_seconds),
            orphan_grace=timedelta(seconds=s.orphan_grace_seconds))

    def wait_for_playback(self, position: int | None, timeout: float | None = None) -> None:
        self._wait(self.zones_view, self.playback.name, position, timeout)

    def wait_for_history(self, position: int | None, timeout: float | None = None) -> None:
        self._wait(self.history_view, self.playback.name, position, timeout)

    def wait_for_scheduling(self, position: int | None, timeout: float | None = None) -> None:
        self._wait(self.schedules_view, self.scheduling.name, position, timeout)

    def wait_for_devices(self, position: int | None, timeout: float | None = None) -> None:
        self._wait(self.devices_view, self.devices.name, position, timeout)

    def _wait(self, view: TrackingRecorder, app_name: str, position: int | None,
              timeout: float | None) -> None:
        if position is None:
            return
        timeout = timeout or self.settings.wait_for_position_timeout
        deadline = time.monotonic() + timeout
        delay = 0.005
        while not view.has_tracking_id(app_name, position):
            if time.monotonic() > deadline:
                raise ReadModelLagging(position, timeout)
            time.sleep(delay)
            delay = min(delay * 2, 0.2)

    def wait_for_accounts(self, position: int | None, timeout: float | None = None) -> None:
        """Block until the accounts read model has processed `position`."""
        self._wait(self.accounts_view, self.accounts.name, position, timeout)

    def wait_for_library(self, position: int | None, timeout: float | None = None) -> None:
        self._wait(self.library_view, self.library.name, position, timeout)

    def projection_lag(self) -> dict[str, int]:
        heads = {app.name: app.recorder.max_notification_id() or 0 for app in (
            self.accounts, self.library, self.playback, self.devices, self.scheduling)}
        return {
            name: heads[app_name] - (view.max_tracking_id(app_name) or 0)
            for name, (view, app_name) in self._lag_views.items()
        }

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
        for app in (self.accounts, self.library, self.playback, self.devices, self.scheduling):
            app.close()
        for view, _ in self._lag_views.values():
            view.datastore.close()  # type: ignore[attr-defined]
        self.jobs.broker.close()
        if self.metrics is not None:
            self.metrics.close()
        self.redis.close()
        if self.embedded is not None:
            self.embedded.close()


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


def bootstrap(
    settings: Settings | None = None, *, start_projections: bool | None = None,
    start_workers: bool | None = None, clock: Callable[[], datetime] | None = None,
    views: Mapping[type[PostgresView], type[PostgresView]] | None = None,
) -> Container:
    """Everything wired; `clock` replaces the real clock (tests of schedules); `views`
    replaces view classes (a test's next release of a view: a subclass at a new
    `schema_version`)."""
    settings = settings or Settings()

    def view_class(default: type[TView]) -> type[TView]:
        return cast(type[TView], (views or {}).get(default, default))

    embedded = None
    if not settings.database_url or not settings.redis_url:
        embedded = EmbeddedServers(settings.data_dir)
    database_url = settings.database_url or _embedded(embedded).postgres_url()
    redis_url = settings.redis_url or _embedded(embedded).redis_url()
    es_env = eventsourcing_env(
        database_url, pool_size=settings.db_pool_size, max_overflow=settings.db_max_overflow,
        pool_timeout=settings.db_pool_timeout, reconnect_timeout=settings.db_reconnect_timeout,
        statement_timeout=settings.db_statement_timeout, lock_timeout=settings.db_lock_timeout,
        idle_in_transaction_timeout=settings.db_idle_in_transaction_timeout,
        aggregate_cache_size=settings.aggregate_cache_size,
    )
    smtp = build_mailer(settings)
    jobs = Jobs(redis_broker(redis_url, settings.redis_prefix,
                             heartbeat_timeout_ms=settings.worker_heartbeat_timeout_ms,
                             maintenance_chance=settings.worker_maintenance_chance),
                lambda: processor, mailer=lambda: smtp, mail_queue=settings.mail_queue)
    with schema_lock(database_url):  # another process may be creating tables too
        accounts = AccountsApplication(
            es_env,
            **({"clock": clock} if clock else {}),
            hasher=Argon2Hasher(),
            mailer=QueuedMailer(jobs.send_mail),
            reset_link=lambda token: f"{settings.public_url}/reset-password?token={token}",
        )
        library = LibraryApplication(es_env)
        storage = build_storage(settings)
        inspector, images = MutagenInspector(), PillowImages()
        processor = MediaProcessor(
            library, storage, inspector, images,
            build_synthesizer(settings.google_application_credentials),
            storage_limit=lambda cid: accounts.get_client(cid).limit("max_storage_gb") * GB,
            analyzer=AvAnalyzer(),
        )
        accounts_view = construct_view(AccountsProjection.name,
                                       view_class(PostgresAccountsView), es_env)
        library_view = construct_view(LibraryProjection.name, view_class(PostgresLibraryView),
                                      es_env)
        jobs_class = jobs_projection(jobs)
        redis_client = redis.Redis.from_url(redis_url, socket_timeout=2, socket_connect_timeout=2)
        zones_view = construct_view("zones_view", view_class(PostgresZonesView), es_env)
        # The views count a client's zones and schedules once, when its roster opens
        # (those made before rosters existed); after that, commands never read them.
        playback = (PlaybackApplication(es_env, existing_zones=zones_view.zones_of_client)
                    if clock is None else PlaybackApplication(
                        es_env, clock=clock, existing_zones=zones_view.zones_of_client))
        devices = DevicesApplication(es_env, zone_owner=playback.zone_owner)

        def load_zone(zone_id: UUID, version: int) -> Any:
            return playback.repository.get(zone_id, version=version)

        def drop_track(track_id: UUID) -> None:
            track: Any = library.repository.get(track_id)
            assert isinstance(track, Track)
            ctx = CommandContext(Actor.system("library"), f"track-deleted-{track_id}")
            playback.drop_tracks(ctx, zones_view.zones_of_client(track.client_id), {track_id})

        live = RedisLiveState(redis_client, settings.redis_prefix)
        zones_class = zones_projection(load_zone)
        loudness = LoudnessCache(library_view)
        live_class = live_state_projection(load_zone, live, loudness.for_zones)
        cleanup_class = queue_cleanup_projection(drop_track)
        history_class = history_projection(load_zone)
        history_view = construct_view(history_class.name, view_class(PostgresZoneHistoryView),
                                      es_env)
        devices_view = construct_view(DevicesProjection.name, view_class(PostgresDevicesView),
                                      es_env)
        catalog = LibraryCatalog(library, library_view)
        schedules_view = construct_view(SchedulesProjection.name,
                                        view_class(PostgresSchedulesView), es_env)
        scheduling = SchedulingApplication(es_env, catalog=catalog,
                                           zone_owner=playback.zone_owner,
                                           existing_schedules=schedules_view.schedules_of_client,
                                           **({"clock": clock} if clock else {}))
    tokens = TokenService(
        settings.jwt_secret.get_secret_value(),
        timedelta(seconds=settings.access_token_ttl_seconds),
        timedelta(seconds=settings.refresh_token_ttl_seconds),
    )
    auth_cache = RedisAuthCache(redis_client, settings.redis_prefix)
    guard = SessionGuard(tokens, auth_cache, accounts, devices,
                         ttl=settings.access_token_ttl_seconds)
    accounts.observe_saves(guard.saved)
    devices.observe_saves(guard.saved)
    presence = Presence(redis_client, settings.redis_prefix, settings.presence_ttl_seconds)
    rate_limiter = RateLimiter(redis_url, settings.redis_prefix, settings.rate_limits)
    plans = Plans(accounts)
    dispatcher = build_dispatcher(
        plans=plans,
        accounts=accounts, library=library, playback=playback, devices=devices,
        scheduling=scheduling, catalog=catalog, media=processor, settings=settings,
        heartbeat=lambda device, ip, ctx: record_heartbeat(devices, presence, device, ctx, ip),
        limiter=lambda caller, _: rate_limiter.hit("command", caller_key(caller)),
        observer=observe_command)
    scheduler = Scheduler(dispatcher, schedules_view, zones_view,
                          grace=timedelta(seconds=settings.schedule_grace_seconds),
                          clock=playback.clock)
    sessions_accounts = session_state_projection(
        "session_state_accounts", lambda events: guard.saved(events, strict=True))
    sessions_devices = session_state_projection(
        "session_state_devices", lambda events: guard.saved(events, strict=True))
    specs = [
        ProjectionSpec(AccountsApplication, AccountsProjection, type(accounts_view)),
        ProjectionSpec(LibraryApplication, LibraryProjection, type(library_view)),
        ProjectionSpec(LibraryApplication, jobs_class, PositionView),
        ProjectionSpec(PlaybackApplication, zones_class, type(zones_view)),
        ProjectionSpec(PlaybackApplication, live_class, PositionView),
        ProjectionSpec(LibraryApplication, cleanup_class, PositionView),
        ProjectionSpec(DevicesApplication, DevicesProjection, type(devices_view)),
        ProjectionSpec(SchedulingApplication, SchedulesProjection, type(schedules_view)),
        ProjectionSpec(PlaybackApplication, history_class, type(history_view)),
        ProjectionSpec(AccountsApplication, sessions_accounts, PositionView),
        ProjectionSpec(DevicesApplication, sessions_devices, PositionView),
    ]
    applications = {app.name: app for app in (accounts, library, playback, devices, scheduling)}
    view_versions = ViewVersions(
        database_url, es_env.get("POSTGRES_SCHEMA") or "public", specs,
        lambda name: applications[name].recorder.max_notification_id() or 0)
    container = Container(
        settings=settings, database_url=database_url, redis_url=redis_url, es_env=es_env,
        redis=redis_client, tokens=tokens, dispatcher=dispatcher, guard=guard,
        auth_cache=auth_cache, plans=plans,
        rate_limiter=rate_limiter,
        accounts=accounts, accounts_view=accounts_view,
        library=library, library_view=library_view,
        storage=storage, inspector=inspector, images=images, jobs=jobs, processor=processor,
        loudness=loudness,
        specs=specs, view_versions=view_versions,
        playback=playback, zones_view=zones_view, live=live,
        devices=devices, devices_view=devices_view,
        presence=presence,
        catalog=catalog, scheduling=scheduling, schedules_view=schedules_view,
        scheduler=scheduler, history_view=history_view, embedded=embedded,
    )
    with schema_lock(database_url):
        key = {s.projection_class: s.name for s in specs}  # `zones_view_v2` at version 2
        container._lag_views = {
            key[AccountsProjection]: (accounts_view, accounts.name),
            key[LibraryProjection]: (library_view, library.name),
            key[jobs_class]: (construct_view(jobs_class.name, PositionView, es_env), library.name),
            key[zones_class]: (zones_view, playback.name),
            key[live_class]: (construct_view(live_class.name, PositionView, es_env),
                              playback.name),
            key[DevicesProjection]: (devices_view, devices.name),
            key[SchedulesProjection]: (schedules_view, scheduling.name),
            key[history_class]: (history_view, playback.name),
            key[sessions_accounts]: (construct_view(sessions_accounts.name, PositionView, es_env),
                                     accounts.name),
            key[sessions_devices]: (construct_view(sessions_devices.name, PositionView, es_env),
                                    devices.name),
        }
        container.metrics = Metrics(SystemCollector(
            lag=container.projection_lag, devices=devices_view.count_devices,
            queues=redis_queue_depths(redis_client, jobs.namespace, jobs.queues)))
        # Every table a runner uses exists before any runner starts: runners run no DDL.
        create_tables(specs, es_env)
        view_versions.register()
    if settings.projections_in_process if start_projections is None else start_projections:
        container.start_projections()
        container.start_clock(("playback-ticker", "presence-sweeper", "subscriptions",
                               "housekeeping")
                              + (("scheduler",) if settings.scheduler_in_process else ()))
    if settings.workers_in_process if start_workers is None else start_workers:
        jobs.start_worker(settings.worker_threads)
    return container


def _embedded(embedded: EmbeddedServers | None) -> EmbeddedServers:
    assert embedded is not None
    return embedded


def describe(container: Container) -> dict[str, Any]:
    return {
        "database": "embedded" if not container.settings.database_url else "configured",
        "redis": "embedded" if not container.settings.redis_url else "configured",
    }
