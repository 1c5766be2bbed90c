"""ASGI middleware: the request envelope (request ids, body limits, request metrics),
and forwarded headers from trusted proxies."""

from __future__ import annotations

import itertools
import json
import os
import re
import secrets
import time
from collections.abc import Callable
from typing import Protocol

from fastapi import FastAPI
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from structlog.contextvars import bind_contextvars, clear_contextvars
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

_VALID = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")
# Generated request ids: 32 hex digits, a random half per process and a counter
# (os.urandom per request, as uuid4 does, was ~1.5% of a command's CPU).
_PROCESS = secrets.token_hex(8)
_NEXT = itertools.count()


def new_request_id() -> str:
    return f"{_PROCESS}{next(_NEXT) & 0xFFFF_FFFF_FFFF_FFFF:016x}"


def _forked() -> None:  # a forked worker must not repeat its parent's ids
    global _PROCESS
    _PROCESS = secrets.token_hex(8)


os.register_at_fork(after_in_child=_forked)


def trust_proxies(app: FastAPI, proxies: list[str]) -> None:
    """Take the client's address and scheme from `X-Forwarded-For` / `-Proto`, but
    only on connections from `proxies` (addresses or networks). From anyone else
    those headers are ignored: a client could otherwise pick the address its
    rate limits are counted by. Add it last, so that it runs first."""
    if proxies:
        app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=proxies)


class RequestEnvelope:
    """What every HTTP request goes through, in one middleware layer (each layer
    costs a coroutine and a wrapper around every message sent): its request id
    (taken from `X-Request-ID` if safe, else generated; bound to every log line and
    echoed in the response), the body limit for its path (`limit_for(path)`:
    bytes, or None for no limit; 413 before or while reading) and, given
    `metrics`, its count and latency by route template. A WebSocket gets its
    request id only."""

    def __init__(self, app: ASGIApp, limit_for: Callable[[str], int | None] | None = None,
                 metrics: RequestObserver | None = None) -> None:
        self.app, self.limit_for, self.metrics = app, limit_for, metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        given = headers.get(b"x-request-id", b"").decode("latin-1")
        request_id = given if _VALID.match(given) else new_request_id()
        scope.setdefault("state", {})["request_id"] = request_id
        clear_contextvars()  # every line logged for this request names it
        bind_contextvars(request_id=request_id)
        if scope["type"] == "websocket":  # no response headers: every frame goes straight out
            await self.app(scope, receive, send)
            return
        began, status = time.perf_counter(), 500
        limit = self.limit_for(scope["path"]) if self.limit_for is not None else None
        state = {"received": 0, "exceeded": False, "started": False}

        async def enveloped_send(message: Message) -> None:
            nonlocal status
            if state["exceeded"]:  # the app answered a body it never finished reading
                if message["type"] == "http.response.start" and not state["started"]:
                    state["started"] = True
                    status = 413
                    await _too_large(send, limit or 0, request_id)
                return
            if message["type"] == "http.response.start":
                state["started"], status = True, message["status"]
                MutableHeaders(scope=message)["X-Request-ID"] = request_id
            await send(message)

        async def counting_receive() -> Message:
            message = await receive()
            if message["type"] == "http.request" and limit is not None:
                state["received"] += len(message.get("body", b""))
                if state["received"] > limit:
                    state["exceeded"] = True
                    raise _BodyTooLarge
            return message

        try:
            declared = headers.get(b"content-length")
            if (limit is not None and declared is not None and declared.isdigit()
                    and int(declared) > limit):
                status = 413
                await _too_large(send, limit, request_id)
                return
            try:
                await self.app(scope, counting_receive, enveloped_send)
            except _BodyTooLarge:
                if not state["started"]:
                    status = 413
                    await _too_large(send, limit or 0, request_id)
        finally:
            if self.metrics is not None:
                self.metrics.observe(scope, status, time.perf_counter() - began)


class RequestObserver(Protocol):
    def observe(self, scope: Scope, status: int, seconds: float) -> None: ...


class _BodyTooLarge(Exception):
    pass


async def _too_large(send: Send, limit: int, request_id: str) -> None:
    body = json.dumps({
        "type": "https://sync2gear.dev/problems/content-too-large",
        "title": "Content Too Large", "status": 413,
        "detail": f"the request body is larger than the {limit // (1024 * 1024)} MB limit",
    }).encode()
    await send({"type": "http.response.start", "status": 413, "headers": [
        (b"content-type", b"application/problem+json"),
        (b"content-length", str(len(body)).encode()),
        (b"x-request-id", request_id.encode("latin-1"))]})
    await send({"type": "http.response.body", "body": body})
