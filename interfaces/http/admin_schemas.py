"""Shapes of the admin panel on the wire (`/api/admin/`), field names as in the seed."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, EmailStr, Field, StringConstraints

from domain.accounts import Role, SubscriptionStatus, Tier
from domain.client import MAX_DEVICES_LIMIT, MAX_STORAGE_GB_LIMIT
from domain.plan import effective_limits
from domain.quota import GB
from interfaces.http.schemas import ONE_LINE, ONE_LINE_CHECK, ClientRow

# Searches: no control characters (PostgreSQL text refuses NUL). Names and phone
# numbers are one-line texts (interfaces/http/schemas.py).
PLAIN = r"^[^\x00-\x1f\x7f]*$"
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=255,
                                        pattern=ONE_LINE), ONE_LINE_CHECK]
Phone = Annotated[str, StringConstraints(max_length=50, pattern=ONE_LINE), ONE_LINE_CHECK]
Timezone = Annotated[str, Field(max_length=64, examples=["Europe/London"])]
Password = Annotated[str, Field(min_length=1, max_length=128)]
MaxDevices = Annotated[int, Field(ge=0, le=MAX_DEVICES_LIMIT, description="devices allowed")]
MaxStorage = Annotated[int, Field(ge=0, le=MAX_STORAGE_GB_LIMIT, description="GB allowed")]
MaxCount = Annotated[int, Field(ge=0, le=MAX_DEVICES_LIMIT)]
LimitName = Literal["max_devices", "max_storage_gb", "max_zones", "max_schedules"]


class ClientIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Name
    email: EmailStr
    phone: Phone = ""
    subscription_tier: Tier = Tier.BASIC
    subscription_start: date | None = Field(None, description="defaults to today")
    subscription_end: date | None = None
    timezone: Timezone = "UTC"
    # Overrides of the tier's limits; absent or null: the tier's default
    max_devices: MaxDevices | None = None
    max_storage_gb: MaxStorage | None = None
    max_zones: MaxCount | None = None
    max_schedules: MaxCount | None = None

    def command_fields(self) -> dict[str, Any]:
        fields = self.model_dump()
        fields["tier"] = fields.pop("subscription_tier")
        return fields


class ClientPatch(BaseModel):
    """Only the fields sent change. `null` clears a subscription date and leaves any
    other field as it is."""

    model_config = ConfigDict(extra="forbid")

    name: Name | None = None
    email: EmailStr | None = None
    phone: Phone | None = None
    subscription_tier: Tier | None = None
    subscription_status: SubscriptionStatus | None = Field(
        None, description="`suspended` or `cancelled` stop its users logging in")
    subscription_start: date | None = None
    subscription_end: date | None = None
    max_devices: MaxDevices | None = None
    max_storage_gb: MaxStorage | None = None
    max_zones: MaxCount | None = None
    max_schedules: MaxCount | None = None
    reset_limits: list[LimitName] = Field(
        default_factory=list, description="overrides to remove: the tier's default applies")
    timezone: Timezone | None = None
    is_active: bool | None = None

    def changes(self) -> dict[str, Any]:
        nullable = {"subscription_start", "subscription_end"}
        sent = self.model_dump(exclude_unset=True)
        resets = sent.pop("reset_limits", [])
        changes = {k: v for k, v in sent.items() if v is not None or k in nullable}
        changes.update(dict.fromkeys(resets))
        renamed = {"subscription_tier": "tier", "subscription_status": "status"}
        return {renamed.get(k, k): v for k, v in changes.items()}


class ClientUsage(BaseModel):
    users: int
    active_users: int
    zones: int
    devices: int
    devices_online: int = Field(description="by recorded presence")
    storage_used_bytes: int
    storage_quota_bytes: int


class AdminClientOut(ClientRow):
    usage: ClientUsage


class ClientStorage(BaseModel):
    client_id: UUID
    name: str
    subscription_tier: str
    subscription_status: str
    used_bytes: int
    quota_bytes: int = Field(description="max_storage_gb in bytes (GiB)")
    used_percent: float
    over_quota: bool = Field(description="the quota was lowered below what is stored; "
                             "uploads are refused until enough is deleted")

    @classmethod
    def of(cls, row: dict[str, Any], used: int) -> ClientStorage:
        """A client's read-model row and the bytes it stores."""
        quota = effective_limits(row["subscription_tier"], row)["max_storage_gb"].value * GB
        return cls(
            client_id=row["id"], name=row["name"], subscription_tier=row["subscription_tier"],
            subscription_status=row["subscription_status"], used_bytes=used,
            quota_bytes=quota, over_quota=used > quota,
            used_percent=round(100 * used / quota, 2) if quota else (100.0 if used else 0.0),
        )


class UserIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: EmailStr
    password: Password
    name: Name
    role: Role = Role.CLIENT
    client_id: UUID | None = Field(None, description="required for the client role")
    phone: Phone = ""
    timezone: Timezone = "UTC"


class UserPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Name | None = None
    phone: Phone | None = None
    timezone: Timezone | None = None
    role: Role | None = None
    is_active: bool | None = Field(None, description="false: cannot log in or refresh")

    def changes(self) -> dict[str, Any]:
        return self.model_dump(exclude_none=True)


class ClientStats(BaseModel):
    total: int
    active: int = Field(description="subscription active and account not disabled")
    by_tier: dict[str, int]
    by_status: dict[str, int]

    @classmethod
    def of_counts(cls, rows: list[dict[str, Any]]) -> ClientStats:
        """From `{subscription_tier, subscription_status, is_active, n}` rows."""
        by_tier = dict.fromkeys((t.value for t in Tier), 0)
        by_status = dict.fromkeys((s.value for s in SubscriptionStatus), 0)
        for r in rows:
            by_tier[r["subscription_tier"]] += r["n"]
            by_status[r["subscription_status"]] += r["n"]
        active = sum(r["n"] for r in rows
                     if r["is_active"] and r["subscription_status"] == "active")
        return cls(total=sum(by_tier.values()), active=active, by_tier=by_tier,
                   by_status=by_status)


class UserStats(BaseModel):
    total: int
    active: int
    by_role: dict[str, int]

    @classmethod
    def of_counts(cls, rows: list[dict[str, Any]]) -> UserStats:
        """From `{role, is_active, n}` rows."""
        by_role = dict.fromkeys((r.value for r in Role), 0)
        for r in rows:
            by_role[r["role"]] += r["n"]
        return cls(total=sum(by_role.values()),
                   active=sum(r["n"] for r in rows if r["is_active"]), by_role=by_role)


class DeviceStats(BaseModel):
    total: int
    online: int
    offline: int


class StorageStats(BaseModel):
    used_bytes: int


class Stats(BaseModel):
    clients: ClientStats
    users: UserStats
    zones: int
    devices: DeviceStats
    storage: StorageStats
    events_stored: dict[str, int] = Field(
        description="events in each application's event store, and `total`")
    generated_at: datetime
