"""Reconnect storm: the API is restarted (SIGTERM, then started again: nothing is
cached in the new process), then 10,000 devices (one paired device per zone,
100 zones) connect at once; the row is the time until every socket has its
first frame. Meanwhile commands go to another zone, whose sockets connected
just before the storm: their frames must keep flowing. Baseline: as many
sockets connecting to the hello-world app at once.
"""

from __future__ import annotations

import subprocess
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx
import redis

from bench.core import Context, Row, pct
from bench.fixtures import Tenant, playing_zones
from bench.servers import BIN, Server
from bench.ws_clients import (
    CONNECT_CONCURRENCY,
    STORM_CONCURRENCY,
    Clients,
    Fanout,
    Trigger,
    next_command,
)
from infra.live import RedisLiveState


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
            ours = storm_of(api, paths[:-1], sockets, next_command(http, zone_ids[-1]), watched)
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
