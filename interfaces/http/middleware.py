"""ASGI middleware: request ids, body limits, and forwarded headers from trusted proxies."""

from __future__ import annotations

import itertools
import json
import os
import re
import secrets
from collections.abc import Callable

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


class RequestIdMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        given = dict(scope["headers"]).get(b"x-request-id", b"").decode("latin-1")
        request_id = given if _VALID.match(given) else new_request_id()
        scope.setdefault("state", {})["request_id"] = request_id
        clear_contextvars()  # every line logged for this request names it
        bind_contextvars(request_id=request_id)
        if scope["type"] == "websocket":  # no response headers: every frame goes straight out
            await self.app(scope, receive, send)
            return

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message)["X-Request-ID"] = request_id
            await send(message)

        await self.app(scope, receive, send_with_id)


class BodyLimitMiddleware:
    """Refuse request bodies over a per-path limit with 413, before or while reading.

    `limit_for(path)` gives the limit in bytes, or None for no limit.
    """

    def __init__(self, app: ASGIApp, limit_for: Callable[[str], int | None]) -> None:
        self.app = app
        self.limit_for = limit_for

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        limit = self.limit_for(scope["path"]) if scope["type"] == "http" else None
        if limit is None:
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await _too_large(send, limit)
            return
        state = {"received": 0, "exceeded": False, "started": False}

        async def counting_receive() -> Message:
            message = await receive()
            if message["type"] == "http.request":
                state["received"] += len(message.get("body", b""))
                if state["received"] > limit:
                    state["exceeded"] = True
                    raise _BodyTooLarge
            return message

        async def guarded_send(message: Message) -> None:
            if state["exceeded"]:
                if message["type"] == "http.response.start" and not state["started"]:
                    state["started"] = True
                    await _too_large(send, limit)
                return
            if message["type"] == "http.response.start":
                state["started"] = True
            await send(message)

        try:
            await self.app(scope, counting_receive, guarded_send)
        except _BodyTooLarge:
            if not state["started"]:
                await _too_large(send, limit)


class _BodyTooLarge(Exception):
    pass


async def _too_large(send: Send, limit: int) -> None:
    body = json.dumps({
        "type": "https://sync2gear.dev/problems/content-too-large",
        "title": "Content Too Large", "status": 413,
        "detail": f"the request body is larger than the {limit // (1024 * 1024)} MB limit",
    }).encode()
    await send({"type": "http.response.start", "status": 413, "headers": [
        (b"content-type", b"application/problem+json"),
        (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})
