"""Plans on the Client: tiers' default limits, an admin's overrides, and the lapse
of a subscription at the client's local midnight (and its renewal), as events."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from domain.accounts import Tier
from domain.base import Actor, ActorKind, CommandContext, acting
from domain.client import Client, SubscriptionExpired
from domain.plan import TIER_LIMITS, PlanLimitReached, check_room

ADMIN = CommandContext(Actor(ActorKind.USER, "admin-1"), "req-1")
JOB = CommandContext(Actor.system("subscriptions"), "review-1")
AUCKLAND = ZoneInfo("Pacific/Auckland")
END = date(2026, 3, 31)


def client_in(timezone: str = "Pacific/Auckland", **limits: Any) -> Client:
    with acting(ADMIN):
        client = Client.register(name="Bakery", email="b@example.com", timezone=timezone,
                                 subscription_start=date(2026, 1, 1), **limits)
        client.change_subscription(subscription_end=END)
    return client


def local(day: date, at: time, zone: ZoneInfo = AUCKLAND) -> datetime:
    return datetime.combine(day, at, tzinfo=zone).astimezone(UTC)


def replayed(client: Client) -> Client:
    events = [*client.collect_events()]
    state = None
    for e in events:
        state = e.mutate(state)
    assert isinstance(state, Client)
    return state


def test_each_tier_gives_its_default_limits() -> None:
    for tier in Tier:
        with acting(ADMIN):
            client = Client.register(name="B", email="b@example.com", tier=tier)
        assert {n: lim.value for n, lim in client.limits.items()} == TIER_LIMITS[tier]
        assert not any(lim.overridden for lim in client.limits.values())


def test_an_override_wins_over_the_tier_until_it_is_reset() -> None:
    client = client_in(max_zones=2)
    assert (client.limit("max_zones"), client.limits["max_zones"].overridden) == (2, True)
    with acting(ADMIN):
        client.change_subscription(tier=Tier.ENTERPRISE, max_schedules=3)
    assert client.limit("max_zones") == 2 and client.limit("max_schedules") == 3
    assert client.limit("max_devices") == TIER_LIMITS[Tier.ENTERPRISE]["max_devices"]
    with acting(ADMIN):
        client.change_subscription(max_zones=None)  # back to the tier's default
    assert client.limits["max_zones"].value == TIER_LIMITS[Tier.ENTERPRISE]["max_zones"]
    assert not client.limits["max_zones"].overridden
    assert replayed(client).limits == client.limits


def test_one_more_over_the_limit_is_refused_with_the_count() -> None:
    check_room("max_zones", 1, 2)
    with pytest.raises(PlanLimitReached, match="zone limit of this plan reached: 2 of 2"):
        check_room("max_zones", 2, 2)


@pytest.mark.parametrize("bad", [-1, 100_001, True, "3"])
def test_impossible_overrides_are_refused(bad: Any) -> None:
    client = client_in()
    with acting(ADMIN), pytest.raises(Exception) as caught:
        client.change_subscription(max_schedules=bad)
    assert getattr(caught.value, "field", None) == "max_schedules"


def test_the_subscription_lapses_at_the_clients_local_midnight_not_before() -> None:
    client = client_in()
    with acting(JOB):
        assert client.review_subscription(local(END, time(23, 59, 59))) is False
        client.check_may_command()  # the last day is still paid for
        # Auckland's midnight is still the 31st in UTC: the local date decides
        assert client.review_subscription(local(END + timedelta(days=1), time(0, 0))) is True
        assert client.review_subscription(local(END + timedelta(days=1), time(0, 1))) is False
    assert client.lapsed_on == END + timedelta(days=1)
    with pytest.raises(SubscriptionExpired, match="ended on 2026-03-31"):
        client.check_may_command()
    lapse = [e for e in client.collect_events() if isinstance(e, Client.SubscriptionLapsed)]
    assert [(e.subscription_end, e.on, e.actor_id) for e in lapse] == [
        (END, END + timedelta(days=1), "subscriptions")]


def test_a_later_end_date_renews_it_as_an_event_by_the_admin() -> None:
    client = client_in()
    after = local(END + timedelta(days=2), time(9))
    with acting(JOB):
        client.review_subscription(after)
    with acting(ADMIN):
        client.change_subscription(subscription_end=END + timedelta(days=1))  # still past
        assert client.review_subscription(after) is False
        client.change_subscription(subscription_end=date(2027, 3, 31))
        assert client.review_subscription(after) is True
    client.check_may_command()
    copy = replayed(client)
    assert copy.lapsed_on is None and copy.subscription_end == date(2027, 3, 31)


def test_the_lapse_is_separate_from_a_suspension() -> None:
    client = client_in()
    with acting(JOB):
        client.review_subscription(local(END + timedelta(days=5), time(12)))
    assert client.can_log_in  # reads still work: users log in and look
    assert client.status.value == "active"


def test_clients_stored_before_plans_keep_their_limits_as_overrides() -> None:
    state: dict[str, Any] = {"max_devices": 5, "max_storage_gb": 10}
    Client.Registered.upcast_v1_v2(state)
    assert state == {"max_devices": 5, "max_storage_gb": 10, "max_zones": None,
                     "max_schedules": None, "timezone": "UTC"}
    snapshot: dict[str, Any] = {}
    Client.upcast_v1_v2(snapshot)
    assert snapshot == {"max_zones": None, "max_schedules": None, "timezone": "UTC",
                        "lapsed_on": None}
