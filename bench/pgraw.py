"""The database baseline: raw single-row INSERT transactions with psycopg.

N connections, each inserting one event-sized row per transaction in a loop
for a fixed time into a scratch table: the most a command could do if it were
nothing but one durable write. With `lock=True` each transaction first takes
the table lock the eventsourcing library's PostgreSQL recorder takes on an
events table (`LOCK TABLE … IN EXCLUSIVE MODE`, so notification ids commit in
order): the ceiling of any one context's event store, one commit at a time.
"""

from __future__ import annotations

import asyncio
import os
import time
import uuid

import psycopg

from bench.core import pct
from bench.loadgen import Load

SCRATCH = """CREATE TABLE IF NOT EXISTS bench_scratch (
    id bigserial PRIMARY KEY, originator_id uuid NOT NULL, topic text NOT NULL,
    state bytea NOT NULL, created_at timestamptz NOT NULL DEFAULT now())"""
INSERT = "INSERT INTO bench_scratch (originator_id, topic, state) VALUES (%s, %s, %s)"
LOCK = "LOCK TABLE bench_scratch IN EXCLUSIVE MODE"
STATE = os.urandom(300)  # about the size of a stored playback event


async def _client(url: str, until: float, latencies: list[float], lock: bool) -> None:
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
        while time.perf_counter() < until:
            start = time.perf_counter()
            async with conn.transaction():
                if lock:
                    await conn.execute(LOCK)
                await conn.execute(INSERT, (uuid.uuid4(), "domain.zone:Zone.Skipped", STATE))
            latencies.append(time.perf_counter() - start)


async def _drive(url: str, connections: int, seconds: float, lock: bool) -> Load:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(SCRATCH)
    latencies: list[float] = []
    start = time.perf_counter()
    until = start + seconds
    await asyncio.gather(*(_client(url, until, latencies, lock) for _ in range(connections)))
    elapsed = time.perf_counter() - start
    return Load(requests=len(latencies), seconds=elapsed, per_s=len(latencies) / elapsed,
                p50_ms=pct(latencies, 0.5) * 1000, p99_ms=pct(latencies, 0.99) * 1000,
                max_ms=max(latencies, default=0) * 1000, errors=0)


def inserts(url: str, *, connections: int, seconds: float, lock: bool = False) -> Load:
    """One-row INSERT transactions from `connections` clients for `seconds`."""
    return asyncio.run(_drive(url, connections, seconds, lock))
