"""Helpers for the admin panel tests: staff and admin accounts, reading stored events."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from fastapi.testclient import TestClient

from domain.accounts import Role
from domain.base import Actor, CommandContext
from infra.bootstrap import Container
from tests.integration.accounts_helpers import PASSWORD, Account, login, unique_email

CLI = CommandContext(Actor.system("test"), "admin-tests")


def sync2gear_user(client: TestClient, container: Container, role: Role) -> Account:
    """A staff or admin account (no client), as `sync2gear create-user` makes them."""
    email = unique_email(role.value)
    container.accounts.create_user(CLI, email=email, password=PASSWORD, name=f"The {role}",
                                   role=role, client_id=None)
    return login(client, email)


def stored_events(container: Container, aggregate_id: str | UUID) -> list[Any]:
    """Every event of one aggregate, read back from the accounts event store."""
    return list(container.accounts.events.get(UUID(str(aggregate_id))))


def stamps(events: list[Any]) -> list[tuple[str, str, str, str]]:
    """(event class, actor kind, actor id, correlation id) of each event."""
    return [(type(e).__qualname__, e.actor_kind, e.actor_id, e.correlation_id) for e in events]


def position(response: Any) -> int:
    return int(response.headers["X-Event-Position"])
