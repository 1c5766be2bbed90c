"""Supervised threads: a daemon thread with a state, stopped on request within a deadline.

Projection followers and view workers (infra/projection_engine.py) and leader
loops (infra/ticker.py) are supervised: each reports its state (`status()`)
for `/api/ready/`.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

FAILING_AFTER = 2  # consecutive failures before a loop counts as failing


@dataclass(frozen=True)
class LoopStatus:
    """What a supervised loop is doing: `starting`, `standby` (another process
    leads), `running`, `failing` (restarting after errors) or `stopped`."""

    name: str
    state: str
    failures: int = 0
    last_error: str | None = None

    @property
    def healthy(self) -> bool:
        """Working, or retrying after a single failure (a dropped connection, say)."""
        return self.state != "stopped" and self.failures < FAILING_AFTER

    def as_dict(self) -> dict[str, Any]:
        return {"state": self.state, "failures": self.failures, "last_error": self.last_error}


class Supervised:
    """A daemon thread with a state, stopped on request within a deadline."""

    def __init__(self, name: str, thread_name: str) -> None:
        self.name = name
        self._stopping = threading.Event()
        self._state, self._failures = "starting", 0
        self._last_error: str | None = None
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._supervise, name=thread_name, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def request_stop(self) -> None:
        self._stopping.set()

    def join(self, timeout: float) -> bool:
        self._thread.join(max(timeout, 0.0))
        return not self._thread.is_alive()

    def stop(self, timeout: float = 10.0) -> None:
        self.request_stop()
        self.join(timeout)

    def status(self) -> LoopStatus:
        with self._lock:
            state = self._state
            if not self._thread.is_alive() and self._thread.ident is not None:
                state = "stopped"  # ended (asked to, or died): either way not working
            return LoopStatus(self.name, state, self._failures, self._last_error)

    def _set(self, state: str, *, error: BaseException | None = None,
             succeeded: bool = False) -> None:
        with self._lock:
            self._state = state
            if error is not None:
                self._failures += 1
                self._last_error = f"{type(error).__name__}: {error}"[:300]
            elif succeeded:
                self._failures, self._last_error = 0, None

    def _supervise(self) -> None:
        try:
            self._loop()
        finally:
            self._set("stopped")

    def _loop(self) -> None:
        raise NotImplementedError
