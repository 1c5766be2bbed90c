"""The session check on every request: what it costs, and that it asks PostgreSQL nothing.

Every token is checked against the state of its session, user or device
(`application/sessions.py`). The check runs in-process here, as the API runs
it, against this run's Redis and a database of its own: a signed-up user's
access token and a paired device's token are checked again and again.
Baseline: decoding and verifying the same JWT with PyJWT alone (what the API
did before sessions could end; TokenService now remembers a token it checked,
so its own `access` is no baseline), in the same run. The PostgreSQL connection requests of
the applications' pools during the loop are counted: they must stay at zero.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import jwt
import redis

from application.accounts import AccountsApplication
from application.devices import DevicesApplication
from application.sessions import SessionGuard
from bench.core import Context, Row, pct
from domain.base import Actor, CommandContext
from infra.auth_cache import RedisAuthCache
from infra.postgres import eventsourcing_env
from infra.security import Argon2Hasher, TokenService

SECRET = "bench-secret-" + "x" * 32


def run(ctx: Context) -> list[Row]:
    env = eventsourcing_env(ctx.servers.database_url, pool_size=1, max_overflow=2)
    accounts = AccountsApplication(env, hasher=Argon2Hasher())
    devices = DevicesApplication(env, zone_owner=lambda _: None)
    client = redis.Redis.from_url(ctx.servers.redis_url)
    tokens = TokenService(SECRET, timedelta(hours=1), timedelta(days=1))
    guard = SessionGuard(tokens, RedisAuthCache(client, f"s2g-bench-{uuid.uuid4().hex[:8]}:"),
                         accounts, devices)
    try:
        grant = accounts.signup(CommandContext(Actor.system("bench"), "bench"),
                                email=f"bench-{uuid.uuid4().hex[:8]}@example.com",
                                password="a long bench password", name="Bench",
                                client_name="Bench Ltd")
        token = tokens.pair(grant.user, grant.session_id, grant.token_id)["access"]
        guard.caller(token)  # the first check fills the cache from the event store
        n = ctx.size(20_000, 500)
        before = _pool_requests(accounts, devices)
        checked = _timed(lambda: guard.caller(token), n)
        pg_requests = _pool_requests(accounts, devices) - before
        decoded = _timed(lambda: jwt.decode(token, SECRET, algorithms=[TokenService.algorithm],
                                            options={"require": ["exp", "sub", "type"]}), n)
    finally:
        accounts.close()
        devices.close()
        client.close()
    return [_row("sessions.check", "session check of an access token (JWT + Redis)",
                 checked, f"{pct(checked, .5) / pct(decoded, .5):.1f}x the JWT check alone; "
                 f"{pg_requests} PostgreSQL connection requests in {n:,} checks",
                 {"postgres_requests": pg_requests, "checks": n}),
            _row("sessions.jwt", "  baseline: verifying the JWT alone", decoded,
                 "what every request did before sessions could end", {})]


def _timed(call: Callable[[], Any], n: int) -> list[float]:
    times = []
    for _ in range(n):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return times


def _pool_requests(*apps: Any) -> int:
    """Connections handed out by the applications' pools so far."""
    return sum(app.recorder.datastore.pool.get_stats().get("requests_num", 0) for app in apps)


def _row(key: str, measure: str, times: list[float], note: str,
         data: dict[str, Any]) -> Row:
    return Row(key=key, measure=measure, per_s=len(times) / sum(times),
               p50_ms=pct(times, .5) * 1000, p99_ms=pct(times, .99) * 1000, note=note,
               data=data)
