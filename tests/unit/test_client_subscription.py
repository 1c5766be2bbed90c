"""Client.change_subscription (the admin panel's tier, period and limit changes):
every input is either refused leaving no trace, or recorded as exactly one event
that replays to the same state."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.accounts import InvalidLimits, Tier
from domain.base import Actor, ActorKind, CommandContext, acting
from domain.client import (
    MAX_DEVICES_LIMIT,
    MAX_STORAGE_GB_LIMIT,
    Client,
    InvalidSubscriptionPeriod,
)

ADMIN = CommandContext(Actor(ActorKind.USER, "admin-1"), "req-1")
dates = st.none() | st.dates(min_value=date(2020, 1, 1), max_value=date(2030, 12, 31))
limits = st.none() | st.integers(  # None: the tier's default
    min_value=-2, max_value=MAX_STORAGE_GB_LIMIT + 2) | st.sampled_from(
    [0, MAX_DEVICES_LIMIT, MAX_DEVICES_LIMIT + 1, MAX_STORAGE_GB_LIMIT])
changes = st.fixed_dictionaries({}, optional={
    "tier": st.sampled_from([*Tier, "gold"]), "subscription_start": dates,
    "subscription_end": dates, "max_devices": limits, "max_storage_gb": limits,
    "max_zones": limits, "max_schedules": limits,
    "name": st.just("Renamed"),  # a contact detail: not changeable this way
})
FIELDS = ("tier", "subscription_start", "subscription_end", "max_devices", "max_storage_gb",
          "max_zones", "max_schedules")
BOUNDS = {"max_devices": MAX_DEVICES_LIMIT, "max_storage_gb": MAX_STORAGE_GB_LIMIT,
          "max_zones": MAX_DEVICES_LIMIT, "max_schedules": MAX_DEVICES_LIMIT}


def new_client(start: date | None = date(2025, 1, 1)) -> Client:
    with acting(ADMIN):
        return Client.register(name="Bakery", email="b@example.com", subscription_start=start)


def state(client: Client) -> tuple[Any, ...]:
    return tuple(getattr(client, f) for f in FIELDS)


def refusal(client: Client, change: dict[str, Any]) -> type[InvalidLimits] | None:
    """The rule `change` breaks, if any (the model the aggregate is checked against)."""
    merged = {**dict(zip(FIELDS, state(client), strict=True)), **change}
    if set(change) - set(FIELDS) or change.get("tier") == "gold":
        return InvalidLimits
    if not all(merged[f] is None or 0 <= merged[f] <= bound for f, bound in BOUNDS.items()):
        return InvalidLimits
    start, end = merged["subscription_start"], merged["subscription_end"]
    dates_sent = {"subscription_start", "subscription_end"} & set(change)
    if dates_sent and start is not None and end is not None and end < start:
        return InvalidSubscriptionPeriod
    return None


@given(st.lists(changes, max_size=6))
def test_subscription_changes_follow_the_rules_and_replay(steps: list[dict[str, Any]]) -> None:
    client = new_client()
    events = list(client.collect_events())
    for change in steps:
        before, version, broken = state(client), client.version, refusal(client, change)
        with acting(ADMIN):
            if broken is not None:
                with pytest.raises(broken):
                    client.change_subscription(**change)
                assert (state(client), client.version) == (before, version)
                continue
            client.change_subscription(**change)
        expected = {**dict(zip(FIELDS, before, strict=True)), **change}
        assert state(client) == tuple(expected[f] for f in FIELDS)
        assert client.version == version + (state(client) != before)
        events += client.collect_events()
    replayed = None
    for e in events:
        replayed = e.mutate(replayed)
    assert replayed is not None and state(replayed) == state(client)
    assert all((e.actor_id, e.correlation_id) == ("admin-1", "req-1") for e in events)


def test_an_end_before_the_start_is_refused_naming_the_field() -> None:
    client = new_client(start=date(2025, 6, 1))
    with acting(ADMIN), pytest.raises(InvalidSubscriptionPeriod) as caught:
        client.change_subscription(subscription_end=date(2025, 5, 31))
    assert caught.value.field == "subscription_end"
    with acting(ADMIN):
        client.change_subscription(subscription_end=date(2025, 6, 1))
    assert client.subscription_end == date(2025, 6, 1)


def test_a_tier_change_is_one_subscription_event_with_the_plain_value() -> None:
    client = new_client()
    with acting(ADMIN):
        client.change_subscription(tier=Tier.ENTERPRISE, max_devices=50)
    (event,) = [e for e in client.collect_events() if isinstance(e, Client.SubscriptionChanged)]
    assert event.changes == {"tier": "enterprise", "max_devices": 50}
    assert client.tier is Tier.ENTERPRISE


@pytest.mark.parametrize("devices, storage", [(MAX_DEVICES_LIMIT + 1, 10),
                                              (5, MAX_STORAGE_GB_LIMIT + 1)])
def test_limits_beyond_the_bounds_are_refused_at_registration(devices: int,
                                                              storage: int) -> None:
    with acting(ADMIN), pytest.raises(InvalidLimits):
        Client.register(name="B", email="b@example.com", max_devices=devices,
                        max_storage_gb=storage)
