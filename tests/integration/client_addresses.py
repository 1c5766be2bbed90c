"""Requests from client addresses of a test's own: rate limits count per address, and
their counters live in the run's shared Redis."""

from __future__ import annotations

import random

from fastapi.testclient import TestClient


def new_address() -> str:
    return f"10.{random.randrange(256)}.{random.randrange(256)}.{random.randrange(1, 255)}"


def at(client: TestClient, address: str | None = None) -> TestClient:
    """The same app, called from `address` (a new one by default)."""
    return TestClient(client.app, client=(address or new_address(), 50000))
