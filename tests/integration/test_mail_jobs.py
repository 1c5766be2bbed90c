"""Mail is sent by a job (infra/mail.py, infra/jobs.py), and tried again while the
SMTP server refuses: a real aiosmtpd server that answers 451 once, then accepts."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from infra.jobs import Jobs, redis_broker
from infra.mail import QueuedMailer, SmtpMailer
from tests.conftest import make_settings
from tests.integration.conftest import MailCollector, free_port


class RefusingOnce(MailCollector):
    def __init__(self) -> None:
        super().__init__()
        self.attempts = 0

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        self.attempts += 1
        if self.attempts == 1:
            return "451 4.3.0 try again later"
        return await super().handle_DATA(server, session, envelope)


@pytest.fixture
def refusing_server() -> Iterator[tuple[RefusingOnce, int]]:
    handler, port = RefusingOnce(), free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    yield handler, port
    controller.stop()


def test_a_mail_the_server_refuses_at_first_is_sent_on_a_retry(
        refusing_server: tuple[RefusingOnce, int], test_database: str,
        servers: dict[str, str], tmp_path: Path) -> None:
    handler, port = refusing_server
    prefix = f"s2g-mail-{uuid.uuid4().hex[:8]}:"
    settings = make_settings(test_database, servers, prefix, tmp_path,
                             smtp_host="127.0.0.1", smtp_port=port)
    smtp = SmtpMailer(settings)
    jobs = Jobs(redis_broker(servers["redis_url"], prefix), lambda: None,  # type: ignore[arg-type,return-value]
                mailer=lambda: smtp)
    jobs.start_worker(1, queues={"mail"})
    try:
        QueuedMailer(jobs.send_mail).send("someone@example.com", "Hello", "A body.\n")

        [message] = handler.wait_for("someone@example.com", timeout=30)
    finally:
        jobs.stop_worker()
        jobs.broker.close()

    assert handler.attempts == 2
    assert message["Subject"] == "Hello"
    assert message.get_content().strip() == "A body."

