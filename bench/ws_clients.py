"""The WebSocket benches' device simulators: client processes (bench/wsclient.py)
holding many sockets, and what one fan-out measured (bench/ws.py, bench/ws_storm.py)."""

from __future__ import annotations

import math
import multiprocessing as mp
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from typing import Any

import httpx

from bench import wsclient
from bench.core import pct
from bench.servers import Server

PER_PROCESS = 2500  # sockets one client event loop follows comfortably
CONNECT_CONCURRENCY = 50  # per client process, while sockets are set up for the fan-out
STORM_CONCURRENCY = 500  # per client process: the storm's devices come back all at once
Trigger = Callable[[], int]  # sends one command, returns the version it produced


@dataclass
class Fanout:
    """What one fan-out run measured."""

    sockets: int = 0
    failures: dict[str, int] = field(default_factory=dict)
    extensions: str = ""
    connect_seconds: float = 0.0
    rss_growth: int = 0
    latencies: list[float] = field(default_factory=list)  # send → arrival, seconds
    acks: list[float] = field(default_factory=list)  # send → HTTP answer, seconds
    missed: int = 0

    def summary(self) -> dict[str, Any]:
        return {
            "sockets": self.sockets, "failures": self.failures, "extensions": self.extensions,
            "connect_seconds": self.connect_seconds, "rss_growth_bytes": self.rss_growth,
            "bytes_per_socket": self.rss_growth / self.sockets if self.sockets else None,
            "deliveries": len(self.latencies), "missed": self.missed,
            "p50_ms": pct(self.latencies, 0.5) * 1000,
            "p99_ms": pct(self.latencies, 0.99) * 1000,
            "ack_p50_ms": pct(self.acks, 0.5) * 1000, "ack_p99_ms": pct(self.acks, 0.99) * 1000,
        }


class Clients:
    """Device-simulator processes (bench/wsclient.py) holding `sockets` sockets on
    `paths` of `server`, opened `concurrency` at a time per process."""

    def __init__(self, server: Server, paths: list[str], sockets: int,
                 concurrency: int) -> None:
        self.pipes: list[Connection] = []
        self.processes: list[Any] = []
        spawn = mp.get_context("spawn")
        count = math.ceil(sockets / PER_PROCESS)
        urls = [f"{server.ws_url}{path}" for path in paths]
        for i in range(count):
            share = sockets // count + (1 if i < sockets % count else 0)
            mine, theirs = spawn.Pipe()
            process = spawn.Process(target=wsclient.main, daemon=True,
                                    args=(theirs, urls, share, concurrency))
            process.start()
            self.pipes.append(mine)
            self.processes.append(process)
        for pipe in self.pipes:
            _answer(pipe, 120)  # ("up",)

    def connect(self) -> float:
        """Tell every process to open its sockets now; when that was (perf_counter)."""
        started = time.perf_counter()
        for pipe in self.pipes:
            pipe.send(("connect",))
        return started

    def connecting(self) -> bool:
        return not all(pipe.poll() for pipe in self.pipes)

    def connected(self, into: Fanout) -> list[float]:
        """Count the open sockets into `into`; when each had its first frame."""
        firsts: list[float] = []
        for pipe in self.pipes:
            _, connected, failures, extensions, first_frames = _answer(pipe, 600)
            into.sockets += connected
            into.extensions = into.extensions or extensions
            for name, n in failures.items():
                into.failures[name] = into.failures.get(name, 0) + n
            firsts += first_frames
        return firsts

    def wait(self, version: int, into: Fanout, sent: float) -> None:
        """Until every socket has seen `version`; their latencies from `sent`."""
        for pipe in self.pipes:
            pipe.send(("wait", version, 60))
        for pipe in self.pipes:
            _, arrivals, missed = _answer(pipe, 90)
            into.latencies += [t - sent for t in arrivals]
            into.missed += missed

    def close(self) -> None:
        for pipe in self.pipes:
            try:
                pipe.send(("close",))
                _answer(pipe, 60)
            except (OSError, EOFError, TimeoutError):
                pass
        for process in self.processes:
            process.join(10)
            if process.is_alive():
                process.kill()


def next_command(http: httpx.Client, zone: str) -> Trigger:
    def command() -> int:
        response = http.post("/api/playback/next/", json={"zone_id": zone})
        response.raise_for_status()
        return int(response.json()["version"])

    return command


def _answer(pipe: Connection, timeout: float) -> Any:
    if not pipe.poll(timeout):
        raise TimeoutError(f"a WebSocket client process did not answer within {timeout} s")
    return pipe.recv()
