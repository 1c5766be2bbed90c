"""`/ws/playback/{zone_id}/`: devices and dashboards follow a zone live.

The process's sockets, their admission and their frames are the `ZoneHub`'s
(`interfaces/zone_hub.py`). Client messages are commands: `{"type": <message>,
...}` names a command class of the dispatcher (`Command.message`), which
authorizes it exactly as over HTTP. Two messages are the socket's own, not
commands (the socket was admitted, and is checked again like any other; they
do not count against the command rate limit): `sync` (send the state again)
and `time` (an NTP-style clock exchange, answered on the event loop without
touching a store: `{"type": "time", "t0"}` is answered at once with `t1`, when
it was read, and `t2`, when the answer is sent, both epoch ms on the server
clock; a socket gets `TIME_BURST` of them at once, then
`TIME_PER_SECOND`, beyond which it gets a 429 error). Refusals close the socket
after accepting it, so the client can read why: 4401 session ended or unknown
token, 4403 not allowed, 4404 zone gone.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
import uuid
from typing import Any
from uuid import UUID

from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from pydantic import TypeAdapter, ValidationError
from starlette.concurrency import run_in_threadpool

from application.authz import Unauthenticated
from application.dispatch import Command
from application.services import ZoneFeed
from application.versions import NewerStoredShape
from domain.base import DomainError
from interfaces.http.errors import status_of
from interfaces.zone_hub import ZoneHub
from interfaces.zone_sockets import (
    CLOSE_UNAUTHENTICATED,
    CLOSE_UNKNOWN_ZONE,
    Subscriber,
    close_code,
    current_state,
)

__all__ = ["ZoneHub", "router"]

router = APIRouter()
TIME_BURST, TIME_PER_SECOND = 10.0, 1.0  # clock exchanges: a token bucket per socket


class TimeBudget:
    """A socket's clock exchanges: a burst at connect, then a slow trickle."""

    def __init__(self) -> None:
        self.tokens, self.at = TIME_BURST, time.monotonic()

    def take(self) -> bool:
        now = time.monotonic()
        self.tokens = min(TIME_BURST, self.tokens + (now - self.at) * TIME_PER_SECOND)
        self.at = now
        if self.tokens < 1:
            return False
        self.tokens -= 1
        return True


@router.websocket("/ws/playback/{zone_id}/")
async def playback_socket(websocket: WebSocket, zone_id: str, token: str = "") -> None:
    hub: ZoneHub = websocket.app.state.hub
    await websocket.accept()
    try:
        zone_uuid = UUID(zone_id)
    except ValueError:
        await websocket.close(code=CLOSE_UNKNOWN_ZONE, reason="no such zone")
        return
    # Registered before it is admitted, so no version published meanwhile is missed.
    sub = Subscriber(websocket, str(zone_uuid), token)
    hub.register(sub)
    sender: asyncio.Task[None] | None = None
    try:
        state = await hub.admit(sub)
        sub.offer(hub.frame(sub.zone_id, state), force=True)
        sender = asyncio.create_task(sub.send_forever())
        await _follow(hub, sub, zone_uuid)
    except DomainError as refused:
        await sub.close(close_code(refused), refused.detail)
    except (WebSocketDisconnect, RuntimeError):
        pass
    finally:
        hub.unregister(sub)
        if sender is not None:
            sender.cancel()
            with contextlib.suppress(BaseException):
                await sender


async def _follow(hub: ZoneHub, sub: Subscriber, zone_id: UUID) -> None:
    """Answer the client's messages until the socket closes."""
    feed = hub.container
    budget = TimeBudget()
    while not sub.closing:
        message = await sub.websocket.receive_json()
        if isinstance(message, dict) and message.get("type") == "time":
            received_ms = time.time() * 1000
            await sub.websocket.send_json(time_reply(message, received_ms, budget))
            continue
        if isinstance(message, dict) and message.get("type") == "sync":
            state = await hub.in_thread(current_state, feed, sub.zone_id)
            if state is not None:
                sub.offer(hub.frame(sub.zone_id, state), force=True)
            continue
        reply = await run_in_threadpool(handle, feed, sub, zone_id, message)
        if reply.get("close"):
            await sub.close(reply["close"], reply["detail"])
        else:
            await sub.websocket.send_json(reply)


def time_reply(message: dict[str, Any], received_ms: float,
               budget: TimeBudget) -> dict[str, Any]:
    """The answer to a clock exchange read at `received_ms` (epoch ms, server clock)."""
    t0 = message.get("t0")
    if isinstance(t0, bool) or not isinstance(t0, int | float) or not math.isfinite(t0):
        return {"type": "error", "of": "time", "status": 422,
                "detail": "bad message: t0: a number (the client's send time, ms) is required"}
    if not budget.take():
        return {"type": "error", "of": "time", "status": 429,
                "detail": "too many clock exchanges", "retry_after": 1}
    return {"type": "time", "t0": t0, "t1": round(received_ms, 3),
            "t2": round(time.time() * 1000, 3)}


_ADAPTERS: dict[type[Command[Any]], TypeAdapter[Any]] = {}


def _adapter(command_class: type[Command[Any]]) -> TypeAdapter[Any]:
    adapter = _ADAPTERS.get(command_class)
    if adapter is None:
        adapter = _ADAPTERS[command_class] = TypeAdapter(command_class)
    return adapter


def handle(feed: ZoneFeed, sub: Subscriber, zone_id: UUID, message: Any) -> dict[str, Any]:
    """Run one client message as a command, as the socket's caller (checked
    again first): an ack, an error, or a reason to close the socket."""
    if not isinstance(message, dict) or not isinstance(message.get("type"), str):
        return {"type": "error", "detail": "messages are JSON objects with a `type`"}
    kind = message["type"]
    command_class = feed.dispatcher.messages().get(kind)
    if command_class is None:
        return {"type": "error", "of": kind, "detail": f"unknown message type {kind!r}"}
    try:
        command = _adapter(command_class).validate_python({**message, "zone_id": zone_id})
    except ValidationError as e:
        detail = "; ".join(f"{'.'.join(map(str, err['loc']))}: {err['msg']}"
                           for err in e.errors())
        return {"type": "error", "of": kind, "status": 422, "detail": f"bad message: {detail}"}
    try:
        sub.caller = feed.guard.caller(sub.token)
        correlation = str(message.get("request_id") or uuid.uuid4().hex)[:128]
        feed.dispatcher.dispatch(sub.caller, command, correlation)
    except Unauthenticated as e:
        return {"close": CLOSE_UNAUTHENTICATED, "detail": e.detail}
    except NewerStoredShape as e:
        return {"type": "error", "of": kind, "status": 503, "detail": e.detail, "retry_after": 5}
    except DomainError as e:
        error = {"type": "error", "of": kind, "status": status_of(e), "detail": e.detail}
        retry_after = getattr(e, "retry_after", None)
        return error if retry_after is None else {**error, "retry_after": retry_after}
    return {"type": "ack", "of": kind}
