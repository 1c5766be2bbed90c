"""Response and request shapes shared by several routers."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Generic, TypeVar
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from domain.client import Client
from domain.user import User

T = TypeVar("T")

# PostgreSQL text cannot hold NUL, and a read-model row that cannot be stored would
# stop its projection: texts refuse NUL, one-line texts (names) any control character.
ONE_LINE = r"^[^\x00-\x1f\x7f]*$"
NO_NUL = r"^[^\x00]*$"


class Page(BaseModel, Generic[T]):
    count: int
    next: str | None
    previous: str | None
    results: list[T]


class UserOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: UUID
    email: str
    name: str
    client_id: UUID | None
    role: str
    phone: str
    timezone: str
    is_active: bool
    last_login: datetime | None = None

    @classmethod
    def of(cls, user: User) -> UserOut:
        return cls(
            id=user.id, email=user.email, name=user.name, client_id=user.client_id,
            role=user.role.value, phone=user.phone, timezone=user.timezone,
            is_active=user.is_active, last_login=user.last_login,
        )


class UserRow(UserOut):
    created_at: datetime
    updated_at: datetime


class ClientOut(BaseModel):
    id: UUID
    name: str
    email: str
    phone: str
    subscription_tier: str
    subscription_status: str
    subscription_start: date | None
    subscription_end: date | None
    max_devices: int
    max_storage_gb: int
    is_active: bool

    @classmethod
    def of(cls, client: Client) -> ClientOut:
        return cls(
            id=client.id, name=client.name, email=client.email, phone=client.phone,
            subscription_tier=client.tier.value, subscription_status=client.status.value,
            subscription_start=client.subscription_start,
            subscription_end=client.subscription_end, max_devices=client.max_devices,
            max_storage_gb=client.max_storage_gb, is_active=client.is_active,
        )


class ClientRow(ClientOut):
    created_at: datetime
    updated_at: datetime


class TokenPair(BaseModel):
    access: str = Field(description="JWT access token (1 h); send as `Authorization: Bearer`")
    refresh: str = Field(description="JWT refresh token (7 d); single use, rotated")
    user: UserOut


class Detail(BaseModel):
    detail: str


def problem_responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI entries for the problem documents a route may answer."""
    return {
        code: {"description": "Problem details (RFC 9457)",
               "content": {"application/problem+json": {}}}
        for code in codes
    }
