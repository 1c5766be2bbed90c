"""Sessions that end when they end: the guard every token passes (accounts and devices).

It follows both applications: a revoking event is written through to the
session cache as it is saved, and replayed into it by two projections.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from application.accounts import AccountsApplication
from application.devices import DevicesApplication
from application.services import SESSIONS
from application.sessions import SessionGuard
from infra.contexts import Built, Context, Parts
from infra.contexts.accounts import AccountsParts
from infra.contexts.devices import DevicesParts
from infra.kernel import Kernel
from infra.postgres.view import PositionView
from infra.projection_spec import ProjectionSpec
from projections.sessions import session_state_projection


@dataclass(kw_only=True)
class SessionsParts(Parts):
    guard: SessionGuard


def build(kernel: Kernel, built: Built) -> SessionsParts:
    accounts, devices = built.of(AccountsParts).application, built.of(DevicesParts).application
    guard = SessionGuard(kernel.tokens, kernel.auth_cache, accounts, devices,
                         ttl=kernel.settings.access_token_ttl_seconds)
    accounts.observe_saves(guard.saved)
    devices.observe_saves(guard.saved)

    def replayed(events: Any) -> None:
        guard.saved(events, strict=True)

    built.ports.provide(SESSIONS, guard)
    return SessionsParts(application=None, guard=guard, specs=[
        ProjectionSpec(AccountsApplication,
                       session_state_projection("session_state_accounts", replayed),
                       PositionView),
        ProjectionSpec(DevicesApplication,
                       session_state_projection("session_state_devices", replayed),
                       PositionView),
    ])


SESSIONS_CONTEXT = Context("sessions", build)
