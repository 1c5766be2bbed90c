"""Command → device latency over WebSocket at 1,000 and 10,000 sockets, memory per
socket, and a reconnect storm after an API restart.

Fan-out: all sockets follow one zone (the worst case: every command reaches
every socket). A round sends `POST /api/playback/next/` and waits until every
socket has seen that version; a delivery's latency runs from sending the
command to the frame's arrival in the device process. Memory per socket is the
server process's RSS growth while the sockets connect, divided by them.
Baseline, same sockets and client processes, same run: the hello-world app's
`/ws/` and `POST /broadcast/` (a frame of the same size, encoded once, no auth,
database or Redis): what uvicorn and Starlette alone cost.

The reconnect storm after an API restart is bench/ws_storm.py.
"""

from __future__ import annotations

import time

import httpx

from bench.core import Context, Row, pct
from bench.fixtures import playing_zones, tenant
from bench.servers import Server, rss_bytes
from bench.ws_clients import CONNECT_CONCURRENCY, Clients, Fanout, Trigger, next_command
from bench.ws_storm import storm


def run(ctx: Context) -> list[Row]:
    api, hello = ctx.servers.api, ctx.servers.hello
    owner = tenant(api.url, ctx.servers.admin_token)
    rows = []
    for sockets, rounds in ((ctx.size(1000, 20), ctx.size(10, 3)),
                            (ctx.size(10_000, 60), ctx.size(4, 3))):
        zone = playing_zones(api.url, owner, 1)[0]
        with httpx.Client(base_url=api.url, headers=owner.auth, timeout=120) as http:
            size = len(http.get(f"/api/playback/state/?zone_id={zone}").content)
            ours = measure(api, f"/ws/playback/{zone}/?token={owner.token}",
                           next_command(http, zone), sockets, rounds)
        with httpx.Client(base_url=hello.url, timeout=120) as http:
            def broadcast(http: httpx.Client = http, size: int = size) -> int:
                return int(http.post(f"/broadcast/?size={size}").json()["version"])

            base = measure(hello, f"/ws/?size={size}", broadcast, sockets, rounds)
        rows.append(_row(sockets, rounds, size, ours, base))
    return [*rows, storm(ctx, owner, size)]

def _row(asked: int, rounds: int, size: int, ours: Fanout, base: Fanout) -> Row:
    short = "" if ours.sockets == asked else f" of {asked:,} asked; failures {ours.failures}"
    per_socket = ours.rss_growth / ours.sockets / 1024 if ours.sockets else float("nan")
    base_socket = base.rss_growth / base.sockets / 1024 if base.sockets else float("nan")
    b = base.summary()
    p99 = pct(ours.latencies, 0.99) * 1000
    return Row(
        key=f"ws.fanout.{asked}",
        measure=f"command → device frame ({ours.sockets:,} sockets{short})",
        p50_ms=pct(ours.latencies, 0.5) * 1000, p99_ms=p99,
        note=f"p99 {p99 / b['p99_ms']:.2f}x hello-world broadcast (p50 {b['p50_ms']:.1f} / "
             f"p99 {b['p99_ms']:.1f} ms); {per_socket:,.0f} KiB/socket "
             f"({base_socket:,.0f} hello-world); {ours.missed} missed",
        data={"rounds": rounds, "frame_state_bytes": size, "sync2gear": ours.summary(),
              "hello_world": b},
    )

def measure(server: Server, path: str, trigger: Trigger, sockets: int, rounds: int) -> Fanout:
    """Connect `sockets` to `server`, then `rounds` times trigger and time the deliveries."""
    result = Fanout()
    clients = Clients(server, [path], sockets, CONNECT_CONCURRENCY)
    try:
        before = rss_bytes(server.pid)
        started = clients.connect()
        clients.connected(result)
        result.connect_seconds = time.perf_counter() - started
        result.rss_growth = rss_bytes(server.pid) - before
        for _ in range(rounds):
            sent = time.perf_counter()
            version = trigger()
            result.acks.append(time.perf_counter() - sent)
            clients.wait(version, result, sent)
    finally:
        clients.close()
    return result
