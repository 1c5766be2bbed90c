"""A controllable clock for applications, the scheduler and the golden stores: it
stands still until a test moves it (`clock.now = ...`), so every position is known."""

from __future__ import annotations

from datetime import datetime


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now
