"""Command throughput over HTTP: `POST /api/playback/next/` at 16 and 64 clients.

Baselines at the same concurrency, in the same run: a hello-world FastAPI app
on the same uvicorn settings (the ceiling of the web stack), raw psycopg
single-row INSERT transactions (the ceiling of one durable write), and the
same INSERTs under the table lock the event store takes (the ceiling of one
context's event store, whose commits go one at a time). The load
is spread over as many zones as the largest client count, round robin, so the
figure is the system's rate rather than one zone's lock.
"""

from __future__ import annotations

import json
import time

import httpx

from bench import pgraw, pgstats
from bench.core import Context, Row, ratio
from bench.fixtures import playing_zones, tenant
from bench.loadgen import Load, wrk

CLIENTS = (16, 64)


def run(ctx: Context) -> list[Row]:
    api, hello = ctx.servers.api, ctx.servers.hello
    owner = tenant(api.url, ctx.servers.admin_token)
    zones = playing_zones(api.url, owner, max(CLIENTS))
    bodies = [json.dumps({"zone_id": zone}) for zone in zones]
    next_url, hello_url = f"{api.url}/api/playback/next/", f"{hello.url}/hello/"
    seconds = ctx.size(10, 1)

    def command(clients: int, secs: float) -> Load:
        return wrk(next_url, connections=clients, seconds=secs, token=owner.token,
                   bodies=bodies)

    def baseline(clients: int, secs: float) -> Load:
        return wrk(hello_url, connections=clients, seconds=secs, bodies=["{}"])

    command(16, ctx.size(3, 1))  # warm-up: pools, caches, first snapshots
    baseline(16, ctx.size(2, 1))
    rows: list[Row] = [_alone(command(1, seconds), baseline(1, seconds))]
    for clients in CLIENTS:
        before = pgstats.snapshot(ctx.servers.database_url) if clients == 16 else None
        cmd = command(clients, seconds)
        system = []
        if before is not None:
            lag = _catch_up(api.url)
            counts = pgstats.per(before, pgstats.snapshot(ctx.servers.database_url),
                                 cmd.requests)
            system.append(_system(lag, counts))
        hi = baseline(clients, seconds)
        pg = pgraw.inserts(ctx.servers.database_url, connections=clients, seconds=seconds)
        locked = pgraw.inserts(ctx.servers.database_url, connections=clients,
                               seconds=seconds, lock=True)
        rows += _rows(clients, cmd, hi, pg, locked) + system
    return rows


def _rows(clients: int, cmd: Load, hello: Load, pg: Load, locked: Load) -> list[Row]:
    errors = f"; {cmd.errors} errors" if cmd.errors else ""
    return [
        _row(f"http.next.{clients}", f"POST /api/playback/next/ ({clients} clients)", cmd,
             f"{ratio(cmd.per_s, hello.per_s)} of hello-world, "
             f"{ratio(cmd.per_s, pg.per_s)} of raw INSERT, "
             f"{ratio(cmd.per_s, locked.per_s)} of locked INSERT{errors}"),
        _row(f"http.hello.{clients}", f"  baseline: hello-world FastAPI ({clients} clients)",
             hello, "same uvicorn settings"),
        _row(f"http.insert.{clients}", f"  baseline: raw INSERT txn ({clients} connections)",
             pg, "psycopg, one row each"),
        _row(f"http.locked.{clients}", f"  baseline: INSERT txn under the event store's "
             f"table lock ({clients})", locked, "LOCK TABLE … IN EXCLUSIVE MODE first"),
    ]


def _row(key: str, measure: str, load: Load, note: str) -> Row:
    return Row(key=key, measure=measure, per_s=load.per_s, p50_ms=load.p50_ms,
               p99_ms=load.p99_ms, note=note, data=load.as_dict())


def _alone(cmd: Load, hello: Load) -> Row:
    return _row("http.next.1", "POST /api/playback/next/ (1 client)", cmd,
                f"{ratio(cmd.per_s, hello.per_s)} of hello-world; hello-world p50 "
                f"{hello.p50_ms:.1f} ms")


def _catch_up(base: str, limit: float = 120.0) -> float:
    """Seconds after the load until every read model has processed every event."""
    start = time.monotonic()
    while time.monotonic() - start < limit:
        checks = httpx.get(f"{base}/api/ready/", timeout=10).json()["checks"]
        if not any(checks.get("projection_lag", {"?": 1}).values()):
            return time.monotonic() - start
        time.sleep(0.05)
    return float("inf")


def _system(lag: float, counts: dict[str, float | None]) -> Row:
    def fig(key: str) -> str:
        value = counts[key]
        return "unknown" if value is None else f"{value:.1f}"

    return Row(key="http.next.16.system", measure="  the whole system per command (16 clients)",
               note=f"read models caught up {lag:.2f} s after the load; "
                    f"{fig('statements_per_command')} statements and "
                    f"{fig('transactions_per_command')} transactions per command, "
                    f"{fig('statements_per_event')} and {fig('transactions_per_event')} per "
                    f"event (PostgreSQL's counters; statements need pg_stat_statements)",
               data={"catch_up_seconds": lag, **counts})
