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

Reconnect storm: the API is restarted (SIGTERM, then started again: nothing is
cached in the new process), then 10,000 devices (one paired device per zone,
100 zones) connect at once; the row is the time until every socket has its
first frame. Meanwhile commands go to another zone, whose sockets connected
just before the storm: their frames must keep flowing. Baseline: as many
sockets connecting to the hello-world app at once.
"""

from __future__ import annotations

import math
import multiprocessing as mp
import subprocess
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from typing import Any

import httpx
import redis

from bench import wsclient
from bench.core import Context, Row, pct
from bench.fixtures import Tenant, playing_zones, tenant
from bench.servers import BIN, Server, rss_bytes
from infra.live import RedisLiveState

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
                           _next(http, zone), sockets, rounds)
        with httpx.Client(base_url=hello.url, timeout=120) as http:
            def broadcast(http: httpx.Client = http, size: int = size) -> int:
                return int(http.post(f"/broadcast/?size={size}").json()["version"])

            base = measure(hello, f"/ws/?size={size}", broadcast, sockets, rounds)
        rows.append(_row(sockets, rounds, size, ours, base))
    return [*rows, storm(ctx, owner, size)]


def _next(http: httpx.Client, zone: str) -> Trigger:
    def command() -> int:
        response = http.post("/api/playback/next/", json={"zone_id": zone})
        response.raise_for_status()
        return int(response.json()["version"])

    return command


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


@dataclass
class Storm:
    """What one reconnect storm measured."""

    connected: Fanout = field(default_factory=Fanout)
    first_frames: list[float] = field(default_factory=list)  # connect order → first frame, s
    meanwhile: Fanout = field(default_factory=Fanout)  # the other zone's frames meanwhile

    @property
    def seconds(self) -> float:
        return max(self.first_frames, default=float("nan"))

    def summary(self) -> dict[str, Any]:
        return {"seconds": self.seconds, **self.connected.summary(),
                "first_frame_p50_ms": pct(self.first_frames, 0.5) * 1000,
                "first_frame_p99_ms": pct(self.first_frames, 0.99) * 1000,
                "meanwhile": self.meanwhile.summary()}


def storm(ctx: Context, owner: Tenant, size: int) -> Row:
    sockets, zones, watchers = ctx.size(10_000, 100), ctx.size(100, 4), ctx.size(100, 5)
    api = ctx.servers.api
    zone_ids = playing_zones(api.url, owner, zones + 1)
    _allow_devices(ctx, owner, zones + 1)
    tokens = [_device_token(api.url, owner, zone) for zone in zone_ids]
    _until_live(ctx, zone_ids)
    api = ctx.servers.restart_api()
    paths = [f"/ws/playback/{z}/?token={t}" for z, t in zip(zone_ids, tokens, strict=True)]
    watched = Clients(api, paths[-1:], watchers, CONNECT_CONCURRENCY)
    try:
        watched.connect()
        watched.connected(Fanout())
        with httpx.Client(base_url=api.url, headers=owner.auth, timeout=120) as http:
            ours = storm_of(api, paths[:-1], sockets, _next(http, zone_ids[-1]), watched)
    finally:
        watched.close()
    base = storm_of(ctx.servers.hello, [f"/ws/?size={size}"], sockets)
    return _storm_row(sockets, zones, ours, base)


def storm_of(server: Server, paths: list[str], sockets: int, trigger: Trigger | None = None,
             watched: Clients | None = None) -> Storm:
    """`sockets` devices connecting to `server` all at once; meanwhile, commands
    from `trigger` whose frames `watched` times."""
    result = Storm()
    clients = Clients(server, paths, sockets, STORM_CONCURRENCY)
    try:
        started = clients.connect()
        while trigger is not None and watched is not None and clients.connecting():
            sent = time.perf_counter()
            version = trigger()
            result.meanwhile.acks.append(time.perf_counter() - sent)
            watched.wait(version, result.meanwhile, sent)
            time.sleep(0.2)
        result.first_frames = [t - started for t in clients.connected(result.connected)]
        result.connected.connect_seconds = result.seconds
    finally:
        clients.close()
    return result


def _storm_row(asked: int, zones: int, ours: Storm, base: Storm) -> Row:
    got = ours.connected.sockets
    short = "" if got == asked else f" of {asked:,} asked; failures {ours.connected.failures}"
    during = ours.meanwhile
    return Row(
        key="ws.reconnect_storm",
        measure=f"reconnect storm after an API restart ({got:,} sockets{short}, {zones} zones)",
        p50_ms=pct(ours.first_frames, 0.5) * 1000, p99_ms=pct(ours.first_frames, 0.99) * 1000,
        note=f"all first frames in {ours.seconds:.1f} s ({base.seconds:.1f} s hello-world); "
             f"meanwhile {len(during.acks)} commands reached another zone's sockets in p50 "
             f"{pct(during.latencies, 0.5) * 1000:.0f} / p99 "
             f"{pct(during.latencies, 0.99) * 1000:.0f} ms",
        data={"zones": zones, "sync2gear": ours.summary(), "hello_world": base.summary()},
    )


def _allow_devices(ctx: Context, owner: Tenant, devices: int) -> None:
    """A large customer: an admin (created with the CLI) lets the client pair `devices`."""
    email, password = f"admin-{uuid.uuid4().hex[:8]}@example.com", "bench-admin-password"
    subprocess.run([str(BIN / "sync2gear"), "create-user", "--email", email, "--name", "Admin",
                    "--password", password, "--role", "admin"], env=ctx.servers.env,
                   check=True, capture_output=True, timeout=120)
    with httpx.Client(base_url=ctx.servers.api.url, timeout=60) as http:
        login = http.post("/api/auth/login/", json={"email": email, "password": password})
        admin = {"Authorization": f"Bearer {login.raise_for_status().json()['access']}"}
        http.patch(f"/api/admin/clients/{owner.client_id}/", headers=admin,
                   json={"max_devices": devices}).raise_for_status()


def _device_token(base: str, owner: Tenant, zone: str) -> str:
    """A device paired to `zone`: what reconnects after a restart."""
    with httpx.Client(base_url=base, timeout=60) as http:
        code = http.post(f"/api/zones/{zone}/pairing-code/", headers=owner.auth)
        paired = http.post("/api/devices/pair/", json={
            "code": code.raise_for_status().json()["code"], "name": "Bench",
            "device_id": f"bench-{uuid.uuid4().hex[:10]}", "device_type": "speaker"})
    return str(paired.raise_for_status().json()["token"])


def _until_live(ctx: Context, zones: list[str], timeout: float = 60) -> None:
    """Until each zone's live state is in Redis (the restarted API admits from it)."""
    prefix = ctx.servers.env["REDIS_PREFIX"]
    client = redis.Redis.from_url(ctx.servers.redis_url)
    live = RedisLiveState(client, prefix)
    deadline = time.monotonic() + timeout
    try:
        while any(live.current(zone) is None for zone in zones):
            if time.monotonic() > deadline:
                raise TimeoutError(f"zones not live within {timeout} s")
            time.sleep(0.1)
    finally:
        client.close()


def _answer(pipe: Connection, timeout: float) -> Any:
    if not pipe.poll(timeout):
        raise TimeoutError(f"a WebSocket client process did not answer within {timeout} s")
    return pipe.recv()
