"""The Client aggregate: a business (tenant) and its subscription."""

from __future__ import annotations

from datetime import date
from typing import Any

from eventsourcing.domain import event

from domain.accounts import InvalidLimits, SubscriptionStatus, Tier
from domain.base import EnumAttribute, TracedAggregate


class Client(TracedAggregate):
    tier = EnumAttribute(Tier)
    status = EnumAttribute(SubscriptionStatus)

    class Registered(TracedAggregate.Created):
        name: str
        email: str
        phone: str
        tier: str
        subscription_start: date | None
        max_devices: int
        max_storage_gb: int

    @event(Registered)
    def __init__(
        self,
        name: str,
        email: str,
        phone: str,
        tier: str,
        subscription_start: date | None,
        max_devices: int,
        max_storage_gb: int,
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
        max_devices: int = 5,
        max_storage_gb: int = 10,
    ) -> Client:
        _check_limits(max_devices, max_storage_gb)
        return cls(
            name=name.strip(),
            email=email,
            phone=phone,
            tier=_tier(tier).value,
            subscription_start=subscription_start,
            max_devices=max_devices,
            max_storage_gb=max_storage_gb,
        )

    @property
    def can_log_in(self) -> bool:
        return self.is_active and self.status is SubscriptionStatus.ACTIVE

    class DetailsChanged(TracedAggregate.Event):
        changes: dict[str, Any]

    def change_details(self, **changes: Any) -> None:
        """Change name, email, phone, tier, dates, limits or the active flag."""
        allowed = {
            "name", "email", "phone", "tier", "subscription_start",
            "subscription_end", "max_devices", "max_storage_gb", "is_active",
        }
        unknown = set(changes) - allowed
        if unknown:
            raise InvalidLimits(f"unknown client fields: {sorted(unknown)}")
        if "tier" in changes:
            changes["tier"] = _tier(changes["tier"]).value
        if "name" in changes:
            changes["name"] = str(changes["name"]).strip()
        _check_limits(
            changes.get("max_devices", self.max_devices),
            changes.get("max_storage_gb", self.max_storage_gb),
        )
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
        _check_limits(
            changes.get("max_devices", self.max_devices),
            changes.get("max_storage_gb", self.max_storage_gb),
        )
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


SUBSCRIPTION_FIELDS = frozenset(
    {"tier", "subscription_start", "subscription_end", "max_devices", "max_storage_gb"}
)
# Upper bounds keep limits inside the read model's integer columns.
MAX_DEVICES_LIMIT = 100_000
MAX_STORAGE_GB_LIMIT = 1_000_000


class InvalidSubscriptionPeriod(InvalidLimits):
    field = "subscription_end"


def _check_limits(max_devices: int, max_storage_gb: int) -> None:
    if max_devices < 0 or max_storage_gb < 0:
        raise InvalidLimits("max_devices and max_storage_gb cannot be negative")
    if max_devices > MAX_DEVICES_LIMIT or max_storage_gb > MAX_STORAGE_GB_LIMIT:
        raise InvalidLimits(
            f"max_devices is at most {MAX_DEVICES_LIMIT} and max_storage_gb at most "
            f"{MAX_STORAGE_GB_LIMIT}"
        )


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
