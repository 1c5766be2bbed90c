"""Plans: the limits each subscription tier gives, and a client's own overrides.

A client's effective limit is its override when an admin set one, else its
tier's default. The tiers' table is a policy of today's release: changing a
default changes the limit of every client without an override, and is stored
nowhere (an override is what is stored, on the Client).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from domain.accounts import AccountsError, Tier

LIMIT_FIELDS = ("max_devices", "max_storage_gb", "max_zones", "max_schedules")

TIER_LIMITS: Mapping[Tier, Mapping[str, int]] = {
    Tier.BASIC: {"max_devices": 5, "max_storage_gb": 10, "max_zones": 10,
                 "max_schedules": 100},
    Tier.PROFESSIONAL: {"max_devices": 25, "max_storage_gb": 100, "max_zones": 50,
                        "max_schedules": 500},
    Tier.ENTERPRISE: {"max_devices": 250, "max_storage_gb": 1000, "max_zones": 500,
                      "max_schedules": 5000},
}

# What each limit counts, for messages ("zone limit reached: 10 of 10").
NOUNS = {"max_devices": "device", "max_storage_gb": "storage", "max_zones": "zone",
         "max_schedules": "schedule"}


class PlanLimitReached(AccountsError):
    """Creating one more zone or schedule would go over the client's plan."""


@dataclass(frozen=True)
class Limit:
    value: int
    overridden: bool


def effective_limits(tier: Tier, overrides: Mapping[str, Any]) -> dict[str, Limit]:
    """Each limit: the override when there is one (not None), else the tier's."""
    defaults = TIER_LIMITS[Tier(tier)]
    return {
        name: Limit(defaults[name], False) if overrides.get(name) is None
        else Limit(int(overrides[name]), True)
        for name in LIMIT_FIELDS
    }


def check_room(name: str, count: int, limit: int) -> None:
    """Refuse one more of what `name` limits when `count` already reached `limit`."""
    if count >= limit:
        raise PlanLimitReached(
            f"{NOUNS[name]} limit of this plan reached: {count} of {limit}; "
            "delete one or ask sync2gear to raise the limit"
        )
