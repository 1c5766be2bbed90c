"""What the interfaces may ask for: one key per port, and the registry that holds them.

The composition root (infra/bootstrap.py) fills a `Ports` with what each
bounded context provides; a route asks for the few ports it uses by their key
(interfaces/http/deps.py), never for the whole composition.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, Protocol, TypeVar, cast
from uuid import UUID

from application.dispatch import Dispatcher
from application.loudness import LoudnessCache
from application.ports import BlobStorage, Catalog, LocalFiles, Presence, RateLimits, Tokens
from application.queries import (
    AccountReads,
    DeviceReads,
    HistoryReads,
    LibraryReads,
    ReadModel,
    ScheduleReads,
    ZoneReads,
)
from application.resumable import ResumableUploads
from application.sessions import SessionGuard
from domain.zone import Zone

T = TypeVar("T")


@dataclass(frozen=True, eq=False)
class Port(Generic[T]):
    """The key of one port: what it is called, and (as its type) what it gives."""

    name: str


class Ports:
    """The ports of one composition, by key (each provided once)."""

    def __init__(self) -> None:
        self._given: dict[Port[Any], Any] = {}

    def provide(self, port: Port[T], service: T) -> None:
        if port in self._given:
            raise ValueError(f"the port {port.name} is provided twice")
        self._given[port] = service

    def __getitem__(self, port: Port[T]) -> T:
        try:
            return cast(T, self._given[port])
        except KeyError:
            raise LookupError(f"nothing provides the port {port.name}") from None


class MediaUrls:
    """Signs media keys of the storage for the URL lifetime (MEDIA_URL_TTL_SECONDS)."""

    def __init__(self, storage: BlobStorage, ttl: int) -> None:
        self._storage, self.ttl = storage, ttl

    def __call__(self, key: str | None, content_type: str | None = None) -> str | None:
        if not key:
            return None
        return self._storage.signed_url(key, expires_in=self.ttl, content_type=content_type)

    def signed(self, item: dict[str, Any]) -> dict[str, Any]:
        """A playable item (`media_key`, `content_type`) with its `url`."""
        return {**item, "url": self(item["media_key"], item["content_type"])}


@dataclass(frozen=True)
class InterfaceSettings:
    """The few settings the interfaces show or apply themselves."""

    max_upload_bytes: int
    tts_default_language: str


class ZoneTimeline(Protocol):
    """Zones as the event store has them (now, or at a past moment)."""

    def get_zone(self, zone_id: UUID, client_id: UUID | None = None) -> Zone: ...

    def zone_at(self, zone_id: UUID, version: int, at: datetime) -> Zone: ...


class RunnerStatus(Protocol):
    @property
    def name(self) -> str: ...

    @property
    def healthy(self) -> bool: ...

    def as_dict(self) -> dict[str, Any]: ...


class SystemStatus(Protocol):
    """This process and what it stands on, for `/api/ready/` and the admin statistics."""

    def ping_postgres(self) -> None: ...

    def ping_redis(self) -> None: ...

    def runners(self) -> list[RunnerStatus]:
        """Each projection runner and leader loop of this process."""

    def projection_lag(self) -> dict[str, int]: ...

    def building(self) -> dict[str, dict[str, Any]]:
        """Read models of this release not yet caught up since their version changed."""

    def events_stored(self) -> dict[str, int]:
        """Rows in each application's events table."""


class Channel(Protocol):
    @property
    def channel(self) -> str: ...


class LiveZones(Channel, Protocol):
    def current(self, zone_id: str) -> dict[str, Any] | None: ...

    def key(self, zone_id: str) -> str:
        """Where the zone's live state is kept (a Redis hash, field `state`)."""


@dataclass(frozen=True)
class ZoneFeed:
    """What the zone sockets use (interfaces/zone_hub.py, interfaces/ws.py)."""

    redis_url: str
    live: LiveZones  # zones' live state, and the channel announcing it
    auth_cache: Channel  # the channel announcing changed sessions, users, devices
    zones_view: ZoneReads
    playback: ZoneTimeline
    loudness: LoudnessCache
    guard: SessionGuard
    dispatcher: Dispatcher
    urls: MediaUrls


DISPATCHER: Port[Dispatcher] = Port("dispatcher")
SESSIONS: Port[SessionGuard] = Port("sessions")
TOKENS: Port[Tokens] = Port("tokens")
RATE_LIMITS: Port[RateLimits] = Port("rate limits")
SETTINGS: Port[InterfaceSettings] = Port("settings")
STORAGE: Port[BlobStorage] = Port("storage")
MEDIA_URLS: Port[MediaUrls] = Port("media urls")
LOCAL_FILES: Port[LocalFiles | None] = Port("local files")  # None: media is not local
SYSTEM: Port[SystemStatus] = Port("system")
ACCOUNTS: Port[ReadModel[AccountReads]] = Port("accounts")
LIBRARY: Port[ReadModel[LibraryReads]] = Port("library")
CATALOG: Port[Catalog] = Port("catalog")
UPLOADS: Port[ResumableUploads] = Port("resumable uploads")
ZONES: Port[ReadModel[ZoneReads]] = Port("zones")
HISTORY: Port[ReadModel[HistoryReads]] = Port("zone history")
TIMELINE: Port[ZoneTimeline] = Port("zone timeline")
LOUDNESS: Port[LoudnessCache] = Port("loudness")
ZONE_FEED: Port[ZoneFeed] = Port("zone feed")
DEVICES: Port[ReadModel[DeviceReads]] = Port("devices")
PRESENCE: Port[Presence] = Port("presence")
SCHEDULES: Port[ReadModel[ScheduleReads]] = Port("schedules")
