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


def _check_limits(max_devices: int, max_storage_gb: int) -> None:
    if max_devices < 0 or max_storage_gb < 0:
        raise InvalidLimits("max_devices and max_storage_gb cannot be negative")


def _tier(value: str) -> Tier:
    try:
        return Tier(value)
    except ValueError:
        raise InvalidLimits(
            f"unknown subscription tier {value!r}; use one of {[t.value for t in Tier]}"
        ) from None
