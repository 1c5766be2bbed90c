"""Fixtures for route tests that need an app built with other settings, or a mail server."""

from __future__ import annotations

import email
import email.policy
import socket
import time
import uuid
from collections.abc import Callable, Iterator
from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from fastapi.testclient import TestClient

from infra.bootstrap import Container, bootstrap
from interfaces.http.app import create_app
from tests.conftest import make_settings

AppFactory = Callable[..., tuple[Container, TestClient]]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def make_app(test_database: str, servers: dict[str, str], redis_prefix: str,
             tmp_path_factory: pytest.TempPathFactory,
             container: Container) -> Iterator[AppFactory]:
    """Build extra apps on this run's servers with some settings overridden.

    They run no projections or workers of their own: the session `container`
    (a dependency here for that reason) projects whatever they store.
    """
    built: list[tuple[Container, TestClient]] = []

    def build(**overrides: Any) -> tuple[Container, TestClient]:
        if "smtp_host" in overrides:  # its mail jobs go to its own SMTP server (infra/mail.py)
            overrides.setdefault("mail_queue", f"mail_{uuid.uuid4().hex[:8]}")
        # Small pools: the embedded PostgreSQL allows 100 connections in all.
        settings = make_settings(
            test_database, servers, redis_prefix, tmp_path_factory.mktemp("app"),
            **{"projections_in_process": False, "workers_in_process": False,
               "db_pool_size": 1, "db_max_overflow": 4, **overrides},
        )
        other = bootstrap(settings, start_projections=False)
        if "smtp_host" in overrides:
            other.jobs.start_worker(1, queues={settings.mail_queue})
        test_client = TestClient(create_app(other))
        test_client.__enter__()
        built.append((other, test_client))
        return other, test_client

    yield build
    for other, test_client in built:
        test_client.__exit__(None, None, None)
        other.close()


class MailCollector:
    """An aiosmtpd handler that keeps every message it receives."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        assert isinstance(envelope.content, bytes)
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        self.messages.append(message)
        return "250 Message accepted for delivery"

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.messages if m["To"] == address]

    def wait_for(self, address: str, count: int = 1, timeout: float = 15.0) -> list[EmailMessage]:
        """The messages to `address` once there are `count` (mail is sent by a job)."""
        deadline = time.monotonic() + timeout
        while len(self.to(address)) < count:
            assert time.monotonic() < deadline, f"no mail #{count} to {address}"
            time.sleep(0.02)
        return self.to(address)


@pytest.fixture(scope="module")
def limited(make_app: AppFactory) -> tuple[Container, TestClient]:
    """An app of its own whose commands are limited to 5 a minute per caller."""
    return make_app(rate_limit_command="5/minute")


def next_reply(ws: Any) -> dict[str, Any]:
    """The socket's next message that is not a zone state frame."""
    while True:
        message: dict[str, Any] = ws.receive_json()
        if message["type"] != "zone.state":
            return message


@pytest.fixture(scope="module")
def smtp_server() -> Iterator[tuple[MailCollector, int]]:
    """A real SMTP server on a free 127.0.0.1 port, and what it has received."""
    collector = MailCollector()
    port = free_port()
    controller = Controller(collector, hostname="127.0.0.1", port=port)
    controller.start()
    yield collector, port
    controller.stop()


@pytest.fixture(scope="module")
def mailing_app(make_app: AppFactory,
                smtp_server: tuple[MailCollector, int]) -> tuple[Container, TestClient]:
    """An app whose mail goes to `smtp_server`."""
    _, port = smtp_server
    return make_app(smtp_host="127.0.0.1", smtp_port=port)
