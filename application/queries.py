"""What the interfaces read: each read model's queries, as Protocols.

The read models (projections/, their Postgres views in infra/postgres/)
implement these; routes and sockets see only the queries they use. A
`ReadModel` pairs a view with waiting until it has applied a command's event
position (read-your-writes: `X-Wait-For-Position`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, Protocol, TypeVar
from uuid import UUID

Row = dict[str, Any]
V = TypeVar("V", covariant=True)


class Page(Protocol):
    """One page of rows and the count of all of them."""

    @property
    def count(self) -> int: ...

    @property
    def rows(self) -> list[Row]: ...


class ReadModelLagging(Exception):
    def __init__(self, position: int, timeout: float) -> None:
        super().__init__(f"read models did not reach position {position} within {timeout} s")
        self.position = position


@dataclass(frozen=True)
class ReadModel(Generic[V]):
    """A view, and waiting (bounded: ReadModelLagging) until it has applied an
    event position of the application it follows."""

    view: V
    wait: Callable[[int | None], None]
    head: Callable[[], int | None]  # its application's last position

    def at(self, position: int | None) -> V:
        """The view once it has applied `position` (None: as it is)."""
        self.wait(position)
        return self.view

    def latest(self) -> V:
        """The view once it has applied every event stored until now."""
        return self.at(self.head())


class ZoneReads(Protocol):
    def get_zone(self, zone_id: UUID) -> Row | None: ...

    def list_zones(self, *, client_id: UUID | None, offset: int, limit: int) -> Page: ...


class HistoryReads(Protocol):
    def list_entries(self, zone_id: UUID, since: datetime | None, until: datetime | None,
                     offset: int, limit: int) -> Page: ...

    def version_at(self, zone_id: UUID, at: datetime) -> int | None: ...

    def list_plays(self, *, client_id: UUID | None, zone_id: UUID | None,
                   since: datetime | None, until: datetime | None, offset: int,
                   limit: int) -> Page: ...

    def summarize_plays(self, *, group: str, client_id: UUID | None, zone_id: UUID | None,
                        since: datetime | None, until: datetime | None, offset: int,
                        limit: int) -> tuple[Page, Row]: ...

    def list_decisions(self, zone_ids: list[UUID], since: datetime | None,
                       until: datetime | None, *, schedule_id: UUID | None = None,
                       action: str | None = None, limit: int = 10_000) -> list[Row]: ...


class AccountReads(Protocol):
    """`filters` are projections.accounts' ClientFilter and UserFilter."""

    def get_client(self, client_id: UUID) -> Row | None: ...

    def get_user(self, user_id: UUID) -> Row | None: ...

    def list_users(self, *, client_id: UUID | None, offset: int, limit: int) -> Page: ...

    def search_clients(self, *, filters: Any, offset: int, limit: int) -> Page: ...

    def search_users(self, *, filters: Any, offset: int, limit: int) -> Page: ...

    def client_counts(self) -> list[Row]: ...

    def user_counts(self) -> list[Row]: ...


class LibraryReads(Protocol):
    def get(self, table: str, row_id: UUID) -> Row | None: ...

    def list_folders(self, *, client_id: UUID | None, type: str | None,  # noqa: A002
                     offset: int, limit: int) -> Page: ...

    def list_tracks(self, *, client_id: UUID | None, folder_id: UUID | None, offset: int,
                    limit: int) -> Page: ...

    def search_tracks(self, *, client_id: UUID | None, query: str, offset: int,
                      limit: int) -> Page: ...

    def list_announcements(self, *, client_id: UUID | None, folder_id: UUID | None,
                           offset: int, limit: int) -> Page: ...

    def storage_by_client(self, client_ids: list[UUID]) -> dict[UUID, int]: ...

    def storage_total(self) -> int: ...


class ScheduleReads(Protocol):
    def get_schedule(self, schedule_id: UUID) -> Row | None: ...

    def list_schedules(self, *, client_id: UUID | None, zone_id: UUID | None,
                       type: str | None, is_active: bool | None,  # noqa: A002
                       offset: int, limit: int) -> Page: ...

    def active_schedules(self) -> list[Row]: ...


class DeviceReads(Protocol):
    def get(self, device_id: UUID) -> Row | None: ...

    def list_devices(self, *, client_id: UUID | None, zone_id: UUID | None, offset: int,
                     limit: int) -> Page: ...

    def list_by_presence(self, *, client_id: UUID | None, is_online: bool | None,
                         offset: int, limit: int) -> Page: ...

    def count_devices(self, client_id: UUID | None = None) -> tuple[int, int]: ...
