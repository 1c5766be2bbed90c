"""The Client aggregate: a business (tenant) and its subscription."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from eventsourcing.domain import event

from domain.accounts import (
    AccountDisabled,
    InvalidLimits,
    SubscriptionStatus,
    Tier,
    valid_timezone,
)
from domain.base import EnumAttribute, TracedAggregate
from domain.plan import LIMIT_FIELDS, Limit, effective_limits


class SubscriptionExpired(AccountDisabled):
    """The client's subscription ended: its users and devices may read, not command."""


class Client(TracedAggregate):
    # 2: max_zones and max_schedules overrides (None: the tier's default, as
    # max_devices and max_storage_gb may now be), timezone, lapsed_on
    class_version = 2
    tier = EnumAttribute(Tier)
    status = EnumAttribute(SubscriptionStatus)

    @staticmethod
    def upcast_v1_v2(state: dict[str, Any]) -> None:
        # Clients before plans: their device and storage limits stay as they were set
        # (overrides); zones and schedules follow the tier; UTC; never lapsed.
        state.update(max_zones=None, max_schedules=None, timezone="UTC", lapsed_on=None)

    class Registered(TracedAggregate.Created):
        # 2: limits may be None (the tier's default), max_zones, max_schedules, timezone
        class_version = 2
        name: str
        email: str
        phone: str
        tier: str
        subscription_start: date | None
        max_devices: int | None
        max_storage_gb: int | None
        max_zones: int | None
        max_schedules: int | None
        timezone: str

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            state.update(max_zones=None, max_schedules=None, timezone="UTC")

    @event(Registered)
    def __init__(
        self,
        name: str,
        email: str,
        phone: str,
        tier: str,
        subscription_start: date | None,
        max_devices: int | None,
        max_storage_gb: int | None,
        max_zones: int | None,
        max_schedules: int | None,
        timezone: str,
    ) -> None:
        self.name = name
        self.email = email
        self.phone = phone
        self.tier = Tier(tier)
        self.status = SubscriptionStatus.ACTIVE
        self.subscription_start = subscription_start
        self.subscription_end: date | None = None
        self.max_devices = max_devices
        self.max_storage_gb = max_storage_gb
        self.max_zones = max_zones
        self.max_schedules = max_schedules
        self.timezone = timezone
        self.lapsed_on: date | None = None
        self.is_active = True

    @classmethod
    def register(
        cls,
        *,
        name: str,
        email: str,
        phone: str = "",
        tier: Tier = Tier.BASIC,
        subscription_start: date | None = None,
        max_devices: int | None = None,
        max_storage_gb: int | None = None,
        max_zones: int | None = None,
        max_schedules: int | None = None,
        timezone: str = "UTC",
    ) -> Client:
        """Limits left None follow the tier (`domain.plan`); a number overrides it."""
        overrides = {"max_devices": max_devices, "max_storage_gb": max_storage_gb,
                     "max_zones": max_zones, "max_schedules": max_schedules}
        _check_limits(overrides)
        return cls(
            name=name.strip(),
            email=email,
            phone=phone,
            tier=_tier(tier).value,
            subscription_start=subscription_start,
            timezone=valid_timezone(timezone),
            **overrides,
        )

    @property
    def limits(self) -> dict[str, Limit]:
        """The effective limits: each override, or the tier's default."""
        return effective_limits(self.tier, {f: getattr(self, f) for f in LIMIT_FIELDS})

    def limit(self, name: str) -> int:
        return self.limits[name].value

    @property
    def can_log_in(self) -> bool:
        return self.is_active and self.status is SubscriptionStatus.ACTIVE

    class DetailsChanged(TracedAggregate.Event):
        changes: dict[str, Any]

    def change_details(self, **changes: Any) -> None:
        """Change name, email, phone, timezone, tier, dates, limits or the active flag."""
        allowed = {
            "name", "email", "phone", "timezone", "tier", "subscription_start",
            "subscription_end", "is_active", *LIMIT_FIELDS,
        }
        unknown = set(changes) - allowed
        if unknown:
            raise InvalidLimits(f"unknown client fields: {sorted(unknown)}")
        if "tier" in changes:
            changes["tier"] = _tier(changes["tier"]).value
        if "name" in changes:
            changes["name"] = str(changes["name"]).strip()
        if "timezone" in changes:
            changes["timezone"] = valid_timezone(changes["timezone"])
        _check_limits(changes)
        changed = self._differing(changes)
        if changed:
            self._details_changed(changes=changed)

    @event(DetailsChanged)
    def _details_changed(self, changes: dict[str, Any]) -> None:
        self._assign(changes)  # `tier` is an EnumAttribute: it takes the plain value

    class StatusChanged(TracedAggregate.Event):
        status: str

    def change_status(self, status: SubscriptionStatus) -> None:
        if SubscriptionStatus(status) is not self.status:
            self._status_changed(status=SubscriptionStatus(status).value)

    @event(StatusChanged)
    def _status_changed(self, status: str) -> None:
        self.status = SubscriptionStatus(status)

    class SubscriptionChanged(TracedAggregate.Event):
        changes: dict[str, Any]

    def change_subscription(self, **changes: Any) -> None:
        """Change the tier, the subscription period or the limits (the admin panel).

        Unlike `change_details`, the period must stay in order: an end date
        before the start date is refused.
        """
        unknown = set(changes) - SUBSCRIPTION_FIELDS
        if unknown:
            raise InvalidLimits(f"not subscription fields: {sorted(unknown)}")
        if "tier" in changes:
            changes["tier"] = _tier(changes["tier"]).value
        _check_limits(changes)
        if {"subscription_start", "subscription_end"} & set(changes):
            _check_period(
                changes.get("subscription_start", self.subscription_start),
                changes.get("subscription_end", self.subscription_end),
            )
        changed = self._differing(changes)
        if changed:
            self._subscription_changed(changes=changed)

    @event(SubscriptionChanged)
    def _subscription_changed(self, changes: dict[str, Any]) -> None:
        self._assign(changes)

    # -- the end of the subscription -------------------------------------------------

    def local_date(self, now: datetime) -> date:
        return now.astimezone(ZoneInfo(self.timezone)).date()

    class SubscriptionLapsed(TracedAggregate.Event):
        subscription_end: date
        on: date  # the client's local date of the midnight it lapsed at

    class SubscriptionRenewed(TracedAggregate.Event):
        subscription_end: date | None

    def review_subscription(self, now: datetime) -> bool:
        """Lapse once the client's local date is past `subscription_end` (at its
        local midnight), or lift a lapse the end date no longer justifies."""
        today = self.local_date(now)
        ended = self.subscription_end is not None and today > self.subscription_end
        if ended and self.lapsed_on is None:
            assert self.subscription_end is not None
            self._lapsed(subscription_end=self.subscription_end, on=today)
            return True
        if not ended and self.lapsed_on is not None:
            self._renewed(subscription_end=self.subscription_end)
            return True
        return False

    @event(SubscriptionLapsed)
    def _lapsed(self, subscription_end: date, on: date) -> None:
        self.lapsed_on = on

    @event(SubscriptionRenewed)
    def _renewed(self, subscription_end: date | None) -> None:
        self.lapsed_on = None

    def check_may_command(self) -> None:
        """Users and devices of a lapsed client read, but command nothing."""
        if self.lapsed_on is not None:
            raise SubscriptionExpired(
                f"the subscription of {self.name} ended on {self.subscription_end}; "
                "commands are suspended until it is renewed (reading still works)"
            )


SUBSCRIPTION_FIELDS = frozenset(
    {"tier", "subscription_start", "subscription_end", *LIMIT_FIELDS}
)
# Upper bounds keep limits inside the read model's integer columns.
MAX_DEVICES_LIMIT = 100_000
MAX_STORAGE_GB_LIMIT = 1_000_000


class InvalidSubscriptionPeriod(InvalidLimits):
    field = "subscription_end"


def _check_limits(overrides: dict[str, Any]) -> None:
    """Overrides given (None clears one: the tier's default applies again)."""
    for name in LIMIT_FIELDS:
        value = overrides.get(name)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int):
            raise InvalidLimits(f"{name} must be a whole number or null", field=name)
        if value < 0:
            raise InvalidLimits(f"{name} cannot be negative", field=name)
        upper = MAX_STORAGE_GB_LIMIT if name == "max_storage_gb" else MAX_DEVICES_LIMIT
        if value > upper:
            raise InvalidLimits(f"{name} is at most {upper}", field=name)


def _check_period(start: date | None, end: date | None) -> None:
    if start is not None and end is not None and end < start:
        raise InvalidSubscriptionPeriod(
            f"subscription_end ({end}) cannot be before subscription_start ({start})"
        )


def _tier(value: str) -> Tier:
    try:
        return Tier(value)
    except ValueError:
        raise InvalidLimits(
            f"unknown subscription tier {value!r}; use one of {[t.value for t in Tier]}"
        ) from None
