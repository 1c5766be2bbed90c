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

from collections.abc import Iterable
from datetime import datetime
from uuid import UUID

from application.accounts import AccountsApplication
from application.common import retry_on_conflict
from domain.base import Actor, CommandContext, NotFound, acting


class Plans:
    def __init__(self, accounts: AccountsApplication) -> None:
        self.accounts = accounts

    def limit(self, client_id: UUID, name: str) -> int:
        """The client's limit in force (`max_zones`, ...): its override, else its tier's."""
        return self.accounts.get_client(client_id).limit(name)

    def check_may_command(self, client_id: UUID) -> None:
        """Raise SubscriptionExpired while the client's subscription is lapsed."""
        try:
            client = self.accounts.get_client(client_id)
        except NotFound:
            return  # the rule that follows reports the missing object
        client.check_may_command()

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
