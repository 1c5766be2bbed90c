"""Outside services the application layer needs, as Protocols."""

from __future__ import annotations

from typing import Protocol


class PasswordHasher(Protocol):
    def hash(self, password: str) -> str: ...

    def verify(self, password: str, password_hash: str) -> bool: ...


class Mailer(Protocol):
    def send(self, to: str, subject: str, body: str) -> None: ...
