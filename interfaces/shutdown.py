"""SIGTERM stops a process within a deadline, whatever its threads are waiting on.

The orderly path (uvicorn's graceful shutdown, then `Container.close()`) usually
ends in a second or two. Should a thread be stuck (a request on a dead server, a
job that does not return), the deadline armed by the first SIGTERM or SIGINT
stops the embedded servers this process owns and exits anyway.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from types import FrameType

import uvicorn

log = logging.getLogger(__name__)

LAST_RESORT_SECONDS = 1.5  # of the deadline, kept for stopping owned embedded servers
EXIT_CODE = 1


class Deadline:
    """Once armed, ends the process within `seconds` unless it has ended before: the
    last LAST_RESORT_SECONDS of them go to `last_resort` (stopping owned servers)."""

    def __init__(self, seconds: float, last_resort: Callable[[], None] = lambda: None) -> None:
        self.seconds, self._last_resort = seconds, last_resort
        self._armed = threading.Event()
        self.armed_at: float | None = None

    def arm(self) -> None:
        if self._armed.is_set():
            return
        self._armed.set()
        self.armed_at = time.monotonic()
        threading.Thread(target=self._expire, name="shutdown-deadline", daemon=True).start()

    def remaining(self) -> float:
        if self.armed_at is None:
            return self.seconds
        return max(0.0, self.armed_at + self.seconds - time.monotonic())

    def _expire(self) -> None:
        time.sleep(max(0.0, self.seconds - LAST_RESORT_SECONDS))
        log.error("still running %.1f s after the signal to stop: stopping the embedded "
                  "servers this process owns and exiting", self.seconds - self.remaining())
        helper = threading.Thread(target=self._last_resort, daemon=True)
        helper.start()
        helper.join(LAST_RESORT_SECONDS - 0.2)
        os._exit(EXIT_CODE)


class DeadlineServer(uvicorn.Server):
    """uvicorn's server, whose first stop signal also arms `deadline`."""

    def __init__(self, config: uvicorn.Config, deadline: Deadline) -> None:
        super().__init__(config)
        self.deadline = deadline

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        self.deadline.arm()
        super().handle_exit(sig, frame)
