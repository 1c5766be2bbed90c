"""The accounts context: clients, users and their plans; sign-up, login, the admin panel."""

from __future__ import annotations

from dataclasses import dataclass

from application.accounts import AccountsApplication
from application.plans import Plans
from application.services import ACCOUNTS
from infra.contexts import Built, Context, Job, Parts, Wired
from infra.kernel import Kernel
from infra.mail import QueuedMailer
from infra.postgres.accounts_view import PostgresAccountsView
from infra.projection_spec import ProjectionSpec
from infra.security import Argon2Hasher
from interfaces.http import accounts, admin, admin_stats, auth
from projections.accounts import AccountsProjection


@dataclass(kw_only=True)
class AccountsParts(Parts):
    application: AccountsApplication
    view: PostgresAccountsView
    plans: Plans


def build(kernel: Kernel, built: Built) -> AccountsParts:
    public_url = kernel.settings.public_url
    app = AccountsApplication(
        kernel.es_env, **kernel.clocked, hasher=Argon2Hasher(),
        mailer=QueuedMailer(kernel.jobs.send_mail),
        reset_link=lambda token: f"{public_url}/reset-password?token={token}")
    view = kernel.view(AccountsProjection.name, PostgresAccountsView)
    built.ports.provide(ACCOUNTS, kernel.read_model(view, app))
    return AccountsParts(
        application=app, view=view, plans=Plans(app),
        specs=[ProjectionSpec(AccountsApplication, AccountsProjection, type(view))],
        views={AccountsProjection.name: view})


def jobs(parts: AccountsParts, wired: Wired) -> list[Job]:
    def review_subscriptions() -> int:
        """Lapse the clients whose subscription ended (at their local midnight)."""
        now = parts.application.clock()
        return parts.plans.lapse_due(parts.view.clients_to_review(now.date()), now)

    interval = wired.built.kernel.settings.subscription_check_seconds
    return [Job("subscriptions", interval, review_subscriptions)]


ACCOUNTS_CONTEXT = Context("accounts", build, jobs, routers=(
    auth.router, accounts.router, admin.router, admin_stats.stats_router))
