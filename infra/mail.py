"""Outgoing mail: SMTP when configured, otherwise the log; sent by a job.

The applications hold a `QueuedMailer`: sending queues a `send_mail` job
(infra/jobs.py) whose worker delivers it with its own mailer, retrying while
the SMTP server refuses. Only the message travels, never the SMTP settings or
credentials: processes whose SMTP settings differ use different queues
(`MAIL_QUEUE`), so each mail is delivered the way its sender was configured.
"""

from __future__ import annotations

import logging
import smtplib
from email.message import EmailMessage
from typing import Any

from infra.settings import Settings

log = logging.getLogger("sync2gear.mail")


class SmtpMailer:
    def __init__(self, settings: Settings) -> None:
        self._s = settings

    def send(self, to: str, subject: str, body: str) -> None:
        s = self._s
        message = EmailMessage()
        message["From"], message["To"], message["Subject"] = s.smtp_from, to, subject
        message.set_content(body)
        smtp_class = smtplib.SMTP_SSL if s.smtp_ssl else smtplib.SMTP
        assert s.smtp_host is not None
        with smtp_class(s.smtp_host, s.smtp_port, timeout=s.smtp_timeout) as smtp:
            if s.smtp_starttls:
                smtp.starttls()
            if s.smtp_user and s.smtp_password:
                smtp.login(s.smtp_user, s.smtp_password.get_secret_value())
            smtp.send_message(message)
        log.info("mail sent to %s: %s", to, subject)


class LogMailer:
    def send(self, to: str, subject: str, body: str) -> None:
        log.warning("SMTP is not configured; mail to %s: %s\n%s", to, subject, body)


def build_mailer(settings: Settings) -> SmtpMailer | LogMailer:
    return SmtpMailer(settings) if settings.smtp_configured else LogMailer()


class QueuedMailer:
    """The Mailer port, as a job on `actor` (a dramatiq actor of `(to, subject, body)`)."""

    def __init__(self, actor: Any) -> None:
        self._actor = actor

    def send(self, to: str, subject: str, body: str) -> None:
        self._actor.send(to, subject, body)
        log.info("mail to %s queued: %s", to, subject)
