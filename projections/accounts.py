"""The users and clients read model, behind `/api/auth/me` and the admin lists."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from eventsourcing.dispatch import singledispatchmethod
from eventsourcing.domain import CanMutateAggregate
from eventsourcing.persistence import Tracking, TrackingRecorder
from eventsourcing.projection import Projection

from domain.client import Client
from domain.session import Session
from domain.user import User

Row = dict[str, Any]


@dataclass(frozen=True)
class Page:
    count: int
    rows: list[Row]


class AccountsView(TrackingRecorder, ABC):
    """Clients and users as rows; every write also records its tracking position."""

    @abstractmethod
    def insert_client(self, row: Row, tracking: Tracking) -> None: ...

    @abstractmethod
    def update_client(self, client_id: UUID, changes: Row, tracking: Tracking) -> None: ...

    @abstractmethod
    def insert_user(self, row: Row, tracking: Tracking) -> None: ...

    @abstractmethod
    def update_user(self, user_id: UUID, changes: Row, tracking: Tracking) -> None: ...

    @abstractmethod
    def get_client(self, client_id: UUID) -> Row | None: ...

    @abstractmethod
    def get_user(self, user_id: UUID) -> Row | None: ...

    @abstractmethod
    def list_users(self, *, client_id: UUID | None, offset: int, limit: int) -> Page: ...

    @abstractmethod
    def list_clients(self, *, offset: int, limit: int) -> Page: ...

    # -- the admin panel ---------------------------------------------------------------

    @abstractmethod
    def search_clients(self, *, filters: ClientFilter, offset: int, limit: int) -> Page:
        """Clients matching every given filter, newest first."""

    @abstractmethod
    def search_users(self, *, filters: UserFilter, offset: int, limit: int) -> Page:
        """Users matching every given filter, newest first."""

    @abstractmethod
    def client_counts(self) -> list[Row]:
        """`{subscription_tier, subscription_status, is_active, n}` for every combination."""

    @abstractmethod
    def user_counts(self) -> list[Row]:
        """`{role, is_active, n}` for every combination."""

    @abstractmethod
    def count_stored_events(self, tables: dict[str, str]) -> dict[str, int]:
        """Rows in each application's events table (`{app name: table name}`)."""

    # -- sessions (housekeeping) -------------------------------------------------------

    @abstractmethod
    def put_session(self, row: Row, tracking: Tracking) -> None:
        """A session that has not ended: `{id, user_id, refreshed_at}`."""

    @abstractmethod
    def refresh_session(self, session_id: UUID, refreshed_at: Any,
                        tracking: Tracking) -> None: ...

    @abstractmethod
    def end_session(self, session_id: UUID, tracking: Tracking) -> None: ...

    @abstractmethod
    def sessions_refreshed_before(self, cutoff: Any, limit: int) -> list[UUID]:
        """Sessions not ended whose newest refresh token was issued before `cutoff`."""


@dataclass(frozen=True)
class ClientFilter:
    """None means "any"; `search` matches part of the name or email, case-insensitively."""

    client_id: UUID | None = None
    tier: str | None = None
    status: str | None = None
    is_active: bool | None = None
    search: str | None = None


@dataclass(frozen=True)
class UserFilter:
    client_id: UUID | None = None
    role: str | None = None
    is_active: bool | None = None
    search: str | None = None


_CLIENT_FIELD = {"tier": "subscription_tier", "status": "subscription_status"}


class AccountsProjection(Projection[AccountsView]):
    name = "accounts_view"

    @singledispatchmethod
    def process_event(self, domain_event: Any, tracking: Tracking) -> None:
        """Events this view does not show still advance its position."""
        self.view.insert_tracking(tracking)

    @process_event.register
    def _client_registered(self, e: Client.Registered, tracking: Tracking) -> None:
        self.view.insert_client(
            {
                "id": e.originator_id, "name": e.name, "email": e.email, "phone": e.phone,
                "subscription_tier": e.tier, "subscription_status": "active",
                "subscription_start": e.subscription_start, "subscription_end": None,
                "max_devices": e.max_devices, "max_storage_gb": e.max_storage_gb,
                "max_zones": e.max_zones, "max_schedules": e.max_schedules,
                "timezone": e.timezone, "lapsed_on": None,
                "is_active": True, "created_at": e.timestamp, "updated_at": e.timestamp,
            },
            tracking,
        )

    @process_event.register
    def _client_changed(self, e: Client.DetailsChanged, tracking: Tracking) -> None:
        changes = {_CLIENT_FIELD.get(k, k): v for k, v in e.changes.items()}
        self.view.update_client(e.originator_id, _touch(changes, e), tracking)

    @process_event.register
    def _client_subscription(self, e: Client.SubscriptionChanged, tracking: Tracking) -> None:
        changes = {_CLIENT_FIELD.get(k, k): v for k, v in e.changes.items()}
        self.view.update_client(e.originator_id, _touch(changes, e), tracking)

    @process_event.register
    def _client_status(self, e: Client.StatusChanged, tracking: Tracking) -> None:
        self.view.update_client(
            e.originator_id, _touch({"subscription_status": e.status}, e), tracking
        )

    @process_event.register
    def _client_lapsed(self, e: Client.SubscriptionLapsed, tracking: Tracking) -> None:
        self.view.update_client(e.originator_id, _touch({"lapsed_on": e.on}, e), tracking)

    @process_event.register
    def _client_renewed(self, e: Client.SubscriptionRenewed, tracking: Tracking) -> None:
        self.view.update_client(e.originator_id, _touch({"lapsed_on": None}, e), tracking)

    @process_event.register
    def _user_registered(self, e: User.Registered, tracking: Tracking) -> None:
        self.view.insert_user(
            {
                "id": e.originator_id, "email": e.email, "name": e.name,
                "client_id": e.client_id, "role": e.role, "phone": e.phone,
                "timezone": e.timezone, "is_active": True, "last_login": None,
                "avatar_key": None, "avatar_thumbnail_key": None,
                "created_at": e.timestamp, "updated_at": e.timestamp,
            },
            tracking,
        )

    @process_event.register
    def _profile(self, e: User.ProfileUpdated, tracking: Tracking) -> None:
        changes = {"name": e.name, "phone": e.phone, "timezone": e.timezone}
        self.view.update_user(e.originator_id, _touch(changes, e), tracking)

    @process_event.register
    def _login(self, e: User.LoggedIn, tracking: Tracking) -> None:
        self.view.update_user(e.originator_id, {"last_login": e.at}, tracking)

    @process_event.register
    def _role(self, e: User.RoleChanged, tracking: Tracking) -> None:
        self.view.update_user(e.originator_id, _touch({"role": e.role}, e), tracking)

    @process_event.register
    def _active(self, e: User.ActiveChanged, tracking: Tracking) -> None:
        self.view.update_user(e.originator_id, _touch({"is_active": e.is_active}, e), tracking)

    @process_event.register
    def _avatar_set(self, e: User.AvatarSet, tracking: Tracking) -> None:
        changes = {"avatar_key": e.avatar_key, "avatar_thumbnail_key": e.thumbnail_key}
        self.view.update_user(e.originator_id, _touch(changes, e), tracking)

    @process_event.register
    def _avatar_removed(self, e: User.AvatarRemoved, tracking: Tracking) -> None:
        changes = {"avatar_key": None, "avatar_thumbnail_key": None}
        self.view.update_user(e.originator_id, _touch(changes, e), tracking)

    @process_event.register
    def _session_started(self, e: Session.Started, tracking: Tracking) -> None:
        self.view.put_session({"id": e.originator_id, "user_id": e.user_id,
                               "refreshed_at": e.timestamp}, tracking)

    @process_event.register
    def _session_rotated(self, e: Session.Rotated, tracking: Tracking) -> None:
        self.view.refresh_session(e.originator_id, e.timestamp, tracking)

    @process_event.register
    def _session_revoked(self, e: Session.Revoked, tracking: Tracking) -> None:
        self.view.end_session(e.originator_id, tracking)


def _touch(changes: Row, e: CanMutateAggregate[Any]) -> Row:
    return {**changes, "updated_at": e.timestamp}
