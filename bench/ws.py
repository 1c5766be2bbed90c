"""Command → device latency over WebSocket at 1,000 and 10,000 sockets, memory per socket.

All sockets follow one zone (the worst case for fan-out: every command reaches
every socket). A round sends `POST /api/playback/next/` and waits until every
socket has seen that version; a delivery's latency runs from sending the
command to the frame's arrival in the device process. Memory per socket is
the server process's RSS growth while the sockets connect, divided by them.

Baseline, same sockets and client processes, same run: the hello-world app's
`/ws/` and `POST /broadcast/` (a frame of the same size, encoded once, no
auth, database or Redis): what uvicorn and Starlette alone cost.
"""

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
from bench.core import Context, Row, pct
from bench.fixtures import playing_zones, tenant
from bench.servers import Server, rss_bytes

PER_PROCESS = 2500  # sockets one client event loop follows comfortably
CONNECT_CONCURRENCY = 50  # per client process
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


def run(ctx: Context) -> list[Row]:
    api, hello = ctx.servers.api, ctx.servers.hello
    owner = tenant(api.url)
    rows = []
    for sockets, rounds in ((ctx.size(1000, 20), ctx.size(10, 3)),
                            (ctx.size(10_000, 60), ctx.size(4, 3))):
        zone = playing_zones(api.url, owner, 1)[0]
        with httpx.Client(base_url=api.url, headers=owner.auth, timeout=120) as http:
            size = len(http.get(f"/api/playback/state/?zone_id={zone}").content)

            def command(http: httpx.Client = http, zone: str = zone) -> int:
                response = http.post("/api/playback/next/", json={"zone_id": zone})
                response.raise_for_status()
                return int(response.json()["version"])

            ours = measure(api, f"/ws/playback/{zone}/?token={owner.token}", command,
                           sockets, rounds)
        with httpx.Client(base_url=hello.url, timeout=120) as http:
            def broadcast(http: httpx.Client = http, size: int = size) -> int:
                return int(http.post(f"/broadcast/?size={size}").json()["version"])

            base = measure(hello, f"/ws/?size={size}", broadcast, sockets, rounds)
        rows.append(_row(sockets, rounds, size, ours, base))
    return rows


def _row(asked: int, rounds: int, size: int, ours: Fanout, base: Fanout) -> Row:
    short = "" if ours.sockets == asked else f" of {asked:,} asked; failures {ours.failures}"
    per_socket = ours.rss_growth / ours.sockets / 1024 if ours.sockets else float("nan")
    base_socket = base.rss_growth / base.sockets / 1024 if base.sockets else float("nan")
    b = base.summary()
    return Row(
        key=f"ws.fanout.{asked}",
        measure=f"command → device frame ({ours.sockets:,} sockets{short})",
        p50_ms=pct(ours.latencies, 0.5) * 1000, p99_ms=pct(ours.latencies, 0.99) * 1000,
        note=f"{per_socket:,.0f} KiB/socket; hello-world broadcast p50 {b['p50_ms']:.1f} / "
             f"p99 {b['p99_ms']:.1f} ms, {base_socket:,.0f} KiB/socket; "
             f"{ours.missed} missed",
        data={"rounds": rounds, "frame_state_bytes": size, "sync2gear": ours.summary(),
              "hello_world": b},
    )


def measure(server: Server, path: str, trigger: Trigger, sockets: int, rounds: int) -> Fanout:
    """Connect `sockets` to `server`, then `rounds` times trigger and time the deliveries."""
    result = Fanout()
    before, started = rss_bytes(server.pid), time.monotonic()
    pipes: list[Connection] = []
    processes: list[Any] = []
    try:
        _connect(f"{server.ws_url}{path}", sockets, result, pipes, processes)
        result.connect_seconds = time.monotonic() - started
        result.rss_growth = rss_bytes(server.pid) - before
        for _ in range(rounds):
            sent = time.perf_counter()
            version = trigger()
            result.acks.append(time.perf_counter() - sent)
            for pipe in pipes:
                pipe.send(("wait", version, 60))
            for pipe in pipes:
                _, arrivals, missed = _answer(pipe, 90)
                result.latencies += [t - sent for t in arrivals]
                result.missed += missed
    finally:
        _close(pipes, processes)
    return result


def _connect(url: str, sockets: int, result: Fanout, pipes: list[Connection],
             processes: list[Any]) -> None:
    spawn = mp.get_context("spawn")
    count = math.ceil(sockets / PER_PROCESS)
    for i in range(count):
        share = sockets // count + (1 if i < sockets % count else 0)
        mine, theirs = spawn.Pipe()
        process = spawn.Process(target=wsclient.main, daemon=True,
                                args=(theirs, url, share, CONNECT_CONCURRENCY))
        process.start()
        pipes.append(mine)
        processes.append(process)
    for pipe in pipes:
        _, connected, failures, extensions = _answer(pipe, 600)
        result.sockets += connected
        result.extensions = result.extensions or extensions
        for name, n in failures.items():
            result.failures[name] = result.failures.get(name, 0) + n


def _close(pipes: list[Connection], processes: list[Any]) -> None:
    for pipe in pipes:
        try:
            pipe.send(("close",))
            _answer(pipe, 60)
        except (OSError, EOFError, TimeoutError):
            pass
    for process in processes:
        process.join(10)
        if process.is_alive():
            process.kill()


def _answer(pipe: Connection, timeout: float) -> Any:
    if not pipe.poll(timeout):
        raise TimeoutError(f"a WebSocket client process did not answer within {timeout} s")
    return pipe.recv()
