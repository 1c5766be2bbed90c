"""Typed access to what the contexts built, for entry points, tools and tests."""

from __future__ import annotations

from typing import TYPE_CHECKING

from application.accounts import AccountsApplication
from application.devices import DevicesApplication
from application.dispatch import Dispatcher
from application.library import LibraryApplication
from application.media_jobs import MediaProcessor
from application.plans import Plans
from application.playback import PlaybackApplication
from application.ports import BlobStorage
from application.scheduling import SchedulingApplication
from application.services import DISPATCHER, Ports
from application.sessions import SessionGuard
from infra.auth_cache import RedisAuthCache
from infra.contexts import Built
from infra.contexts.accounts import AccountsParts
from infra.contexts.devices import DevicesParts
from infra.contexts.library import LibraryParts
from infra.contexts.playback import PlaybackParts
from infra.contexts.scheduling import SchedulingParts
from infra.contexts.sessions import SessionsParts
from infra.embedded import EmbeddedServers
from infra.jobs import Jobs
from infra.kernel import Kernel
from infra.media import MutagenInspector
from infra.postgres.accounts_view import PostgresAccountsView
from infra.postgres.devices_view import PostgresDevicesView
from infra.postgres.history_view import PostgresZoneHistoryView
from infra.postgres.library_view import PostgresLibraryView
from infra.postgres.schedules_view import PostgresSchedulesView
from infra.postgres.zones_view import PostgresZonesView
from infra.ratelimit import RateLimiter
from infra.scheduler import Scheduler
from infra.security import TokenService
from infra.settings import Settings

if TYPE_CHECKING:
    import redis


class ContainerParts:
    kernel: Kernel
    built: Built

    # -- the kernel ------------------------------------------------------------------
    @property
    def settings(self) -> Settings:
        return self.kernel.settings

    @property
    def database_url(self) -> str:
        return self.kernel.database_url

    @property
    def redis_url(self) -> str:
        return self.kernel.redis_url

    @property
    def es_env(self) -> dict[str, str]:
        return self.kernel.es_env

    @property
    def redis(self) -> redis.Redis:
        return self.kernel.redis

    @property
    def jobs(self) -> Jobs:
        return self.kernel.jobs

    @property
    def storage(self) -> BlobStorage:
        return self.kernel.storage

    @property
    def embedded(self) -> EmbeddedServers | None:
        return self.kernel.embedded

    @property
    def tokens(self) -> TokenService:
        return self.kernel.tokens

    @property
    def rate_limiter(self) -> RateLimiter:
        return self.kernel.rate_limiter

    @property
    def auth_cache(self) -> RedisAuthCache:
        return self.kernel.auth_cache

    @property
    def ports(self) -> Ports:
        return self.built.ports

    @property
    def dispatcher(self) -> Dispatcher:
        return self.ports[DISPATCHER]

    @property
    def guard(self) -> SessionGuard:
        return self.built.of(SessionsParts).guard

    @property
    def plans(self) -> Plans:
        return self.built.of(AccountsParts).plans

    @property
    def processor(self) -> MediaProcessor:
        return self.built.of(LibraryParts).processor

    @property
    def inspector(self) -> MutagenInspector:
        return self.built.of(LibraryParts).inspector

    # -- the applications --------------------------------------------------------------
    @property
    def accounts(self) -> AccountsApplication:
        return self.built.of(AccountsParts).application

    @property
    def library(self) -> LibraryApplication:
        return self.built.of(LibraryParts).application

    @property
    def playback(self) -> PlaybackApplication:
        return self.built.of(PlaybackParts).application

    @property
    def devices(self) -> DevicesApplication:
        return self.built.of(DevicesParts).application

    @property
    def scheduling(self) -> SchedulingApplication:
        return self.built.of(SchedulingParts).application

    # -- the read models ---------------------------------------------------------------
    @property
    def accounts_view(self) -> PostgresAccountsView:
        return self.built.of(AccountsParts).view

    @property
    def library_view(self) -> PostgresLibraryView:
        return self.built.of(LibraryParts).view

    @property
    def zones_view(self) -> PostgresZonesView:
        return self.built.of(PlaybackParts).zones_view

    @property
    def history_view(self) -> PostgresZoneHistoryView:
        return self.built.of(PlaybackParts).history_view

    @property
    def devices_view(self) -> PostgresDevicesView:
        return self.built.of(DevicesParts).view

    @property
    def schedules_view(self) -> PostgresSchedulesView:
        return self.built.of(SchedulingParts).view

    @property
    def scheduler(self) -> Scheduler:
        scheduler = self.built.of(SchedulingParts).scheduler
        assert scheduler is not None
        return scheduler
