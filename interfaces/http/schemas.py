"""Response and request shapes shared by several routers."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from datetime import date, datetime
from typing import Any, Generic, TypeVar
from uuid import UUID

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidatorFunctionWrapHandler,
    WrapValidator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from domain.accounts import Tier
from domain.client import Client
from domain.plan import LIMIT_FIELDS, TIER_LIMITS, effective_limits
from domain.user import User

T = TypeVar("T")

# One-line texts (names, titles, phone numbers, ...) refuse what hides or disguises
# text: control characters (PostgreSQL text cannot even hold NUL, and a row a view
# cannot store would stop its projection), bidi controls that reorder what follows,
# zero-width characters, the BOM and line separators. A folder "Staff\u202eslaes"
# would otherwise show as "Staffseals". Longer texts (descriptions) refuse NUL only.
_REFUSED: tuple[tuple[str, str], ...] = (
    ("a control character", r"\x00-\x1f\x7f-\x9f"),
    ("a bidi control", r"\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"),
    ("a zero-width character", r"\u200b-\u200d\u2060"),
    ("a byte order mark", r"\ufeff"),
    ("a line separator", r"\u2028\u2029"),
)
_KIND = [(kind, re.compile(f"[{chars}]")) for kind, chars in _REFUSED]
_ANY_REFUSED = re.compile("[" + "".join(chars for _, chars in _REFUSED) + "]")

# The pattern documents the rule in OpenAPI; ONE_LINE_CHECK enforces it with a
# message naming the character, and NFC-normalises what it keeps. Use both:
#   Annotated[str, StringConstraints(max_length=255, pattern=ONE_LINE), ONE_LINE_CHECK]
ONE_LINE = "^[^" + "".join(chars for _, chars in _REFUSED) + "]*$"
NO_NUL = r"^[^\x00]*$"


def _one_line(value: Any, handler: ValidatorFunctionWrapHandler) -> Any:
    if isinstance(value, str):
        refused = _ANY_REFUSED.search(value)
        if refused:
            raise _refusal(refused.group())
        value = unicodedata.normalize("NFC", value)
    return handler(value)


def _refusal(char: str) -> PydanticCustomError:
    kind = next(kind for kind, chars in _KIND if chars.match(char))
    name = unicodedata.name(char, "")
    shown = f"U+{ord(char):04X}" + (f" ({name})" if name else "")
    return PydanticCustomError(
        "one_line", "{char} is {kind}, which a one-line text cannot contain",
        {"char": shown, "kind": kind})


ONE_LINE_CHECK = WrapValidator(_one_line)


class Page(BaseModel, Generic[T]):
    count: int
    next: str | None
    previous: str | None
    results: list[T]


# Signs a stored key (with its content type) into an expiring URL: library_schemas.Urls.
Sign = Callable[[str | None, str | None], str | None]


def avatar_urls(key: str | None, thumbnail_key: str | None,
                sign: Sign | None) -> dict[str, str | None]:
    if sign is None:
        return {}
    return {"avatar_url": sign(key, None), "avatar_thumbnail_url": sign(thumbnail_key,
                                                                         "image/jpeg")}


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
    avatar_url: str | None = Field(None, description="signed, expiring URL of the avatar")
    avatar_thumbnail_url: str | None = Field(None, description="signed URL of its thumbnail "
                                             "(JPEG, at most 300×300)")

    @classmethod
    def of(cls, user: User, sign: Sign | None = None) -> UserOut:
        return cls(
            id=user.id, email=user.email, name=user.name, client_id=user.client_id,
            role=user.role.value, phone=user.phone, timezone=user.timezone,
            is_active=user.is_active, last_login=user.last_login,
            **avatar_urls(user.avatar_key, user.avatar_thumbnail_key, sign),
        )


class UserRow(UserOut):
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of_row(cls, row: dict[str, Any], sign: Sign) -> UserRow:
        """A row of the users read model, its avatar keys signed."""
        return cls.model_validate(
            {**row, **avatar_urls(row["avatar_key"], row["avatar_thumbnail_key"], sign)})


class LimitOut(BaseModel):
    value: int = Field(description="the limit in force")
    overridden: bool = Field(description="set for this client by an admin (else the tier's)")
    tier_default: int


class ClientOut(BaseModel):
    id: UUID
    name: str
    email: str
    phone: str
    timezone: str = Field(description="the client's local midnight ends its subscription")
    subscription_tier: str
    subscription_status: str
    subscription_start: date | None
    subscription_end: date | None
    subscription_lapsed: bool = Field(
        description="the end date passed: commands are refused, reads still work")
    lapsed_on: date | None
    max_devices: int = Field(description="in force: the override, else the tier's default")
    max_storage_gb: int
    max_zones: int
    max_schedules: int
    limits: dict[str, LimitOut] = Field(description="each limit, and whether overridden")
    is_active: bool

    @model_validator(mode="before")
    @classmethod
    def _plan(cls, data: Any) -> Any:
        """From stored overrides (None: the tier's) to the limits in force."""
        if not isinstance(data, dict) or "limits" in data:
            return data
        tier = Tier(data["subscription_tier"])
        limits = effective_limits(tier, data)
        return {
            **data, **{name: limit.value for name, limit in limits.items()},
            "limits": {name: LimitOut(value=limit.value, overridden=limit.overridden,
                                      tier_default=TIER_LIMITS[tier][name])
                       for name, limit in limits.items()},
            "subscription_lapsed": data.get("lapsed_on") is not None,
        }

    @classmethod
    def of(cls, client: Client) -> ClientOut:
        return cls.model_validate({
            "id": client.id, "name": client.name, "email": client.email,
            "phone": client.phone, "timezone": client.timezone,
            "subscription_tier": client.tier.value, "subscription_status": client.status.value,
            "subscription_start": client.subscription_start,
            "subscription_end": client.subscription_end, "lapsed_on": client.lapsed_on,
            "is_active": client.is_active, **{f: getattr(client, f) for f in LIMIT_FIELDS},
        })


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
