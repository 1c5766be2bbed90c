"""Rate limits as route dependencies: a route names its limits in its decorator,

    @router.post("/signup/", dependencies=[Depends(limit("signup", per="ip"))])

and an attempt over a limit is answered 429 with `Retry-After` before the route
runs. The limits themselves (`RATE_LIMIT_<NAME>`) are settings; the counting is
the `RateLimits` port (infra/ratelimit.py), which commands call directly.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from typing import Any, Literal

from fastapi import Request
from starlette.concurrency import run_in_threadpool

from application.authz import caller_key
from domain.accounts import normalise_email
from interfaces.http.deps import CallerDep, RateLimitsDep

# What a limit is counted per: the client's address (as seen through trusted
# proxies only), the email in the JSON body, both, or the caller (user or device).
Per = Literal["ip", "email", "ip+email", "principal"]


def limit(name: str, per: Per) -> Callable[..., Any]:
    """A dependency that counts one attempt at limit `name` per `per`."""
    if per == "principal":
        def per_principal(limits: RateLimitsDep, caller: CallerDep) -> None:
            if caller is not None:  # no caller: refused (401) by the route itself
                limits.hit(name, caller_key(caller))
        return per_principal
    if per == "ip":
        def per_ip(request: Request, limits: RateLimitsDep) -> None:
            limits.hit(name, client_address(request))
        return per_ip

    async def per_email(request: Request, limits: RateLimitsDep) -> None:
        email = await _body_email(request)
        if email is None:
            return  # nothing to count by: the body is refused (422) anyway
        key = (client_address(request), email) if per == "ip+email" else (email,)
        await run_in_threadpool(limits.hit, name, *key)
    return per_email


def client_address(request: Request) -> str:
    """The key of the client's address. IPv6 clients are counted per /64, the
    block one subscriber usually has, so that they cannot step through it."""
    host = request.client.host if request.client else ""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return f"host:{host or 'unknown'}"
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return f"ip:{address.ipv4_mapped}"
        return f"ip:{ipaddress.ip_network(f'{address}/64', strict=False)}"
    return f"ip:{address}"


async def _body_email(request: Request) -> str | None:
    """The `email` of a JSON body (already read by FastAPI, so parsed from memory)."""
    try:
        body = await request.json()
    except ValueError:
        return None
    email = body.get("email") if isinstance(body, dict) else None
    return f"email:{normalise_email(email)}" if isinstance(email, str) and email else None
