"""Plans: a client's limits (its tier's, or an admin's overrides) and the end of
its subscription.

`Plans.limit` is a client's limit in force, read from its Client aggregate; the
applications count against it with a roster aggregate per client (devices,
zones, schedules: `domain/roster.py`), saved with what it admits, so a command
never reads a read model to count. `lapse_due` is the leader's periodic job: a
client whose `subscription_end` has passed at its local midnight is recorded as
lapsed (`Client.SubscriptionLapsed`), and the dispatcher then refuses its users'
and devices' commands (`check_may_command`).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

from application.accounts import AccountsApplication
from application.common import retry_on_conflict
from domain.base import Actor, CommandContext, NotFound, acting
from domain.client import Client

# How long this process trusts a client's standing without reading the Client again.
# A save of the client in this process forgets it at once; a lapse or renewal saved
# by another process takes effect here at most this late (commands are refused or
# allowed again up to a second after the event: the lapse is at midnight anyway).
STANDING_MAX_AGE = 1.0


class Plans:
    def __init__(self, accounts: AccountsApplication, *,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self.accounts = accounts
        self._monotonic = monotonic
        self._standing: dict[UUID, tuple[float, Client | None]] = {}
        accounts.observe_saves(self._forget)

    def limit(self, client_id: UUID, name: str) -> int:
        """The client's limit in force (`max_zones`, ...): its override, else its tier's."""
        return self.accounts.get_client(client_id).limit(name)

    def check_may_command(self, client_id: UUID) -> None:
        """Raise SubscriptionExpired while the client's subscription is lapsed (on
        every command: the Client is read again at most every STANDING_MAX_AGE s)."""
        now, known = self._monotonic(), self._standing.get(client_id)
        if known is None or now - known[0] > STANDING_MAX_AGE:
            try:
                client: Client | None = self.accounts.get_client(client_id)
            except NotFound:
                client = None  # the rule that follows reports the missing object
            known = self._standing[client_id] = (now, client)
        if known[1] is not None:
            known[1].check_may_command()

    def _forget(self, events: Sequence[Any]) -> None:
        for event in events:
            self._standing.pop(event.originator_id, None)

    def lapse_due(self, candidates: Iterable[UUID], now: datetime | None = None) -> int:
        """Record the lapse (or renewal) of each candidate whose time came; the
        number of clients changed."""
        now = now or self.accounts.clock()
        return sum(self._review(client_id, now) for client_id in candidates)

    @retry_on_conflict
    def _review(self, client_id: UUID, now: datetime) -> bool:
        client = self.accounts.get_client(client_id)
        ctx = CommandContext(Actor.system("subscriptions"),
                             f"subscription-review-{client.local_date(now)}")
        with acting(ctx):
            changed = client.review_subscription(now)
        if changed:
            self.accounts.save(client)
        return changed
