"""The HTTP load generator: wrk (C, epoll) driven by bench/wrk.lua.

wrk keeps N connections busy for a fixed time (closed loop: each connection
sends its next request when the previous answer arrived) and reports its own
latency percentiles, so the figures do not depend on Python client speed.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

SCRIPT = Path(__file__).with_name("wrk.lua")


class WrkMissing(RuntimeError):
    pass


@dataclass(frozen=True)
class Load:
    requests: int
    seconds: float
    per_s: float
    p50_ms: float
    p99_ms: float
    max_ms: float
    errors: int  # socket errors plus non-2xx/3xx answers

    def as_dict(self) -> dict[str, float]:
        return {k: float(v) for k, v in self.__dict__.items()}


def wrk(url: str, *, connections: int, seconds: float, token: str = "",
        bodies: list[str] | None = None, threads: int = 2) -> Load:
    """Drive `url` for `seconds` with `connections` (GET, or POST of `bodies`)."""
    if shutil.which("wrk") is None:
        raise WrkMissing("wrk is not installed: run `make bench-deps` (apt-get install wrk)")
    argv = ["wrk", "-t", str(min(threads, connections)), "-c", str(connections),
            "-d", f"{seconds:g}s", "--timeout", "30s", "-s", str(SCRIPT), url,
            "--", token, *(bodies or [])]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=seconds + 60,
                          check=True)
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    requests, seconds_taken = figures["requests"], figures["duration_us"] / 1e6
    return Load(
        requests=requests, seconds=seconds_taken, per_s=requests / seconds_taken,
        p50_ms=figures["p50_us"] / 1000, p99_ms=figures["p99_us"] / 1000,
        max_ms=figures["max_us"] / 1000,
        errors=figures["socket_errors"] + figures["status_errors"],
    )
