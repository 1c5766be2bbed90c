"""Rules shared by the accounts aggregates: roles, tiers, statuses, errors."""

from __future__ import annotations

import unicodedata
from enum import StrEnum
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from domain.base import DomainError


class Role(StrEnum):
    CLIENT = "client"
    STAFF = "staff"
    ADMIN = "admin"


class Tier(StrEnum):
    BASIC = "basic"
    PROFESSIONAL = "professional"
    ENTERPRISE = "enterprise"


class SubscriptionStatus(StrEnum):
    ACTIVE = "active"
    SUSPENDED = "suspended"
    CANCELLED = "cancelled"


class AccountsError(DomainError):
    """Base of the accounts context's broken rules."""


class EmailAlreadyRegistered(AccountsError):
    pass


class InvalidCredentials(AccountsError):
    pass


class AccountDisabled(AccountsError):
    """The user is inactive, or the client is suspended, cancelled or inactive."""


class InvalidTimezone(AccountsError):
    field = "timezone"


class InvalidToken(AccountsError):
    """A refresh or reset token is unknown, expired, revoked or already used."""


class RefreshTokenReused(InvalidToken):
    pass


class InvalidLimits(AccountsError):
    pass


def normalise_email(email: str) -> str:
    """Emails are unique case-insensitively and by what they look like: trimmed,
    NFKC-normalised (fullwidth "ＡＮＮ@…" is "ANN@…") and lower-cased, as RFC 8265
    maps user names (lower-casing, not case folding, which would make "ß" "ss").
    An ASCII email comes out as it always did, lower-cased and trimmed: the ids of
    stored email indexes derive from this form."""
    lowered = unicodedata.normalize("NFKC", email.strip()).lower()
    return unicodedata.normalize("NFKC", lowered)


_ZONES: frozenset[str] | None = None


def valid_timezone(name: str) -> str:
    """Return `name` if it is an IANA time zone, else raise InvalidTimezone."""
    global _ZONES
    if _ZONES is None:
        _ZONES = frozenset(available_timezones()) | {"UTC"}
    if name not in _ZONES:
        raise InvalidTimezone(f"'{name}' is not an IANA time zone (e.g. 'Europe/London')")
    try:
        ZoneInfo(name)
    except ZoneInfoNotFoundError as e:  # pragma: no cover - tzdata disagrees with itself
        raise InvalidTimezone(f"'{name}' is not an IANA time zone") from e
    return name


class WrongPassword(AccountsError):
    """The current password given to change it is not the current password."""


class WeakPassword(AccountsError):
    field = "password"


MIN_PASSWORD_LENGTH = 8


def check_password_strength(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise WeakPassword(f"password must be at least {MIN_PASSWORD_LENGTH} characters")
    if password.strip() == "" or len(set(password)) < 3:
        raise WeakPassword("password is too simple")
