"""`/ws/playback/{zone_id}/`: devices and dashboards follow a zone live.

One Redis subscription per process (the `ZoneHub`) fans every zone's new state
out to that process's sockets, and hears which sessions, users and devices
changed, so their open sockets are checked again at once. Each socket has its
own sender holding only the newest state, so a slow or dead socket never holds
up the others, and a client that misses versions simply gets the latest state.

Client messages are commands: `{"type": <message>, ...}` names a command class
of the dispatcher (`Command.message`), which authorizes it exactly as over
HTTP; `sync` (send the state again) is the only message of the socket itself.
Refusals close the socket after accepting it, so the client can read why:
4401 session ended or unknown token, 4403 not allowed, 4404 zone gone.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import uuid
from collections import defaultdict
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import redis.asyncio as aioredis
from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from pydantic import TypeAdapter, ValidationError
from starlette.concurrency import run_in_threadpool

from application.authz import (
    Caller,
    DevicePrincipal,
    PermissionDenied,
    Principal,
    Unauthenticated,
)
from application.dispatch import Command
from application.playback import zone_state
from application.rules import ZONE_FOLLOW, Target
from domain.base import DomainError, NotFound
from infra.bootstrap import Container
from interfaces.http.errors import status_of
from interfaces.http.zones import state_body

log = logging.getLogger(__name__)
router = APIRouter()

SEND_TIMEOUT = 10.0
RECHECK_SECONDS = 60.0
CLOSE_UNAUTHENTICATED, CLOSE_FORBIDDEN, CLOSE_UNKNOWN_ZONE = 4401, 4403, 4404


class Subscriber:
    """One socket: who is on it, and its outbox (only the newest state is kept)."""

    def __init__(self, websocket: WebSocket, container: Container, zone_id: str, token: str,
                 caller: Caller) -> None:
        self.websocket, self.container, self.zone_id = websocket, container, zone_id
        self.token, self.caller = token, caller
        self.latest: tuple[int, dict[str, Any]] | None = None
        self.sent_version = -1
        self.ready = asyncio.Event()
        self.closing = False

    def concerns(self, changed: dict[str, str]) -> bool:
        """Whether a change of these session/user/device ids may affect this socket."""
        caller = self.caller
        if isinstance(caller, DevicePrincipal):
            return changed.get("device_id") == str(caller.device_id)
        return isinstance(caller, Principal) and (
            changed.get("user_id") == str(caller.user_id)
            or changed.get("session_id") == str(caller.session_id))

    def offer(self, version: int, state: dict[str, Any], *, force: bool = False) -> None:
        if force:
            self.sent_version = -1
        if self.latest is None or version >= self.latest[0]:
            self.latest = (version, state)
            self.ready.set()

    async def send_forever(self) -> None:
        while True:
            await self.ready.wait()
            self.ready.clear()
            if self.latest is None or self.latest[0] <= self.sent_version:
                continue
            version, state = self.latest
            frame = {"type": "zone.state", "zone_id": self.zone_id, "version": version,
                     "state": state_body(state, self.container),
                     "server_time": datetime.now(UTC).isoformat()}
            await asyncio.wait_for(self.websocket.send_json(frame), SEND_TIMEOUT)
            self.sent_version = version

    async def close(self, code: int, reason: str) -> None:
        if self.closing:
            return
        self.closing = True
        with contextlib.suppress(Exception):
            await self.websocket.close(code=code, reason=reason[:120])


class ZoneHub:
    def __init__(self, container: Container) -> None:
        self.container = container
        self.sockets: dict[str, set[Subscriber]] = defaultdict(set)
        self._tasks: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        self._tasks = [asyncio.create_task(self._listen(), name="zone-hub"),
                       asyncio.create_task(self._recheck_forever(), name="zone-hub-recheck")]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    def register(self, sub: Subscriber) -> None:
        self.sockets[sub.zone_id].add(sub)

    def unregister(self, sub: Subscriber) -> None:
        subs = self.sockets.get(sub.zone_id)
        if subs is not None:
            subs.discard(sub)
            if not subs:
                del self.sockets[sub.zone_id]

    async def _listen(self) -> None:
        delay = 0.5
        live_channel = self.container.live.channel
        auth_channel = self.container.auth_cache.channel
        while True:
            client = aioredis.from_url(self.container.redis_url)
            try:
                pubsub = client.pubsub()
                await pubsub.subscribe(live_channel, auth_channel)
                await self._resync()  # whatever was missed while (re)connecting
                delay = 0.5
                async for message in pubsub.listen():
                    if message.get("type") != "message":
                        continue
                    channel = message["channel"].decode()
                    if channel == auth_channel:
                        await self._changed(json.loads(message["data"]))
                    else:
                        await self._dispatch(json.loads(message["data"]))
            except asyncio.CancelledError:
                raise
            except Exception as e:
                log.warning("zone hub lost Redis (%s); reconnecting in %.1f s", e, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 10.0)
            finally:
                with contextlib.suppress(Exception):
                    await client.aclose()

    async def _dispatch(self, message: dict[str, Any]) -> None:
        state = message["state"]
        for sub in list(self.sockets.get(message["zone_id"], ())):
            if state.get("is_deleted"):
                await sub.close(CLOSE_UNKNOWN_ZONE, "the zone has been deleted")
            else:
                sub.offer(int(message["version"]), state)

    async def _changed(self, changed: dict[str, str]) -> None:
        """A session, user or device changed: its sockets must still be allowed."""
        subs = [s for subs in self.sockets.values() for s in subs if s.concerns(changed)]
        await asyncio.gather(*(recheck(self.container, sub) for sub in subs))

    async def _recheck_forever(self) -> None:
        """The backstop of `_changed` (a pub/sub message can be lost): every
        socket is checked again every RECHECK_SECONDS."""
        while True:
            await asyncio.sleep(RECHECK_SECONDS)
            for subs in list(self.sockets.values()):
                for sub in list(subs):
                    with contextlib.suppress(Exception):
                        await recheck(self.container, sub)

    async def _resync(self) -> None:
        for zone_id, subs in list(self.sockets.items()):
            state = await run_in_threadpool(current_state, self.container, zone_id)
            if state is not None:
                for sub in list(subs):
                    sub.offer(int(state["version"]), state)


def current_state(container: Container, zone_id: str) -> dict[str, Any] | None:
    """The zone's state: live (Redis), else the read model, else the event store."""
    with contextlib.suppress(Exception):
        state = container.live.current(zone_id)
        if state is not None:
            return state
    row = container.zones_view.get_zone(UUID(zone_id))
    if row is not None:
        state = dict(row["state"])
        return state
    try:
        return zone_state(container.playback.get_zone(UUID(zone_id)))
    except NotFound:
        return None


def admit(container: Container, token: str, zone_id: UUID) -> Caller:
    """The caller of a new or re-checked socket: a valid token of someone who may
    follow this zone (raises Unauthenticated / PermissionDenied / NotFound)."""
    caller = container.guard.caller(token)
    target = Target("zone", zone_id)
    ZONE_FOLLOW.grant(caller, target, container.dispatcher.owner(target))
    state = current_state(container, str(zone_id))
    if state is None or state.get("is_deleted"):
        raise NotFound(f"zone {zone_id} not found")
    return caller


async def recheck(container: Container, sub: Subscriber) -> None:
    try:
        sub.caller = await run_in_threadpool(admit, container, sub.token, UUID(sub.zone_id))
    except DomainError as refused:
        await sub.close(close_code(refused), refused.detail)


def close_code(refused: DomainError) -> int:
    if isinstance(refused, NotFound):
        return CLOSE_UNKNOWN_ZONE
    if isinstance(refused, PermissionDenied):
        return CLOSE_FORBIDDEN
    return CLOSE_UNAUTHENTICATED


@router.websocket("/ws/playback/{zone_id}/")
async def playback_socket(websocket: WebSocket, zone_id: str, token: str = "") -> None:
    container: Container = websocket.app.state.container
    hub: ZoneHub = websocket.app.state.hub
    await websocket.accept()
    try:
        zone_uuid = UUID(zone_id)
    except ValueError:
        await websocket.close(code=CLOSE_UNKNOWN_ZONE, reason="no such zone")
        return
    try:
        caller = await run_in_threadpool(admit, container, token, zone_uuid)
    except DomainError as refused:
        await websocket.close(code=close_code(refused), reason=refused.detail[:120])
        return
    sub = Subscriber(websocket, container, str(zone_uuid), token, caller)
    hub.register(sub)
    sender = asyncio.create_task(sub.send_forever())
    try:
        await _resend(container, sub)
        while not sub.closing:
            message = await websocket.receive_json()
            if isinstance(message, dict) and message.get("type") == "sync":
                await _resend(container, sub)
                continue
            reply = await run_in_threadpool(handle, container, sub, zone_uuid, message)
            if reply.get("close"):
                await sub.close(reply["close"], reply["detail"])
            else:
                await websocket.send_json(reply)
    except (WebSocketDisconnect, RuntimeError):
        pass
    finally:
        hub.unregister(sub)
        sender.cancel()
        with contextlib.suppress(BaseException):
            await sender


async def _resend(container: Container, sub: Subscriber) -> None:
    state = await run_in_threadpool(current_state, container, sub.zone_id)
    if state is not None:
        sub.offer(int(state["version"]), state, force=True)


_ADAPTERS: dict[type[Command[Any]], TypeAdapter[Any]] = {}


def _adapter(command_class: type[Command[Any]]) -> TypeAdapter[Any]:
    adapter = _ADAPTERS.get(command_class)
    if adapter is None:
        adapter = _ADAPTERS[command_class] = TypeAdapter(command_class)
    return adapter


def handle(container: Container, sub: Subscriber, zone_id: UUID,
           message: Any) -> dict[str, Any]:
    """Run one client message as a command, as the socket's caller (checked
    again first): an ack, an error, or a reason to close the socket."""
    if not isinstance(message, dict) or not isinstance(message.get("type"), str):
        return {"type": "error", "detail": "messages are JSON objects with a `type`"}
    kind = message["type"]
    command_class = container.dispatcher.messages().get(kind)
    if command_class is None:
        return {"type": "error", "of": kind, "detail": f"unknown message type {kind!r}"}
    try:
        command = _adapter(command_class).validate_python({**message, "zone_id": zone_id})
    except ValidationError as e:
        detail = "; ".join(f"{'.'.join(map(str, err['loc']))}: {err['msg']}"
                           for err in e.errors())
        return {"type": "error", "of": kind, "status": 422, "detail": f"bad message: {detail}"}
    try:
        sub.caller = container.guard.caller(sub.token)
        correlation = str(message.get("request_id") or uuid.uuid4().hex)[:128]
        container.dispatcher.dispatch(sub.caller, command, correlation)
    except Unauthenticated as e:
        return {"close": CLOSE_UNAUTHENTICATED, "detail": e.detail}
    except DomainError as e:
        error = {"type": "error", "of": kind, "status": status_of(e), "detail": e.detail}
        retry_after = getattr(e, "retry_after", None)
        return error if retry_after is None else {**error, "retry_after": retry_after}
    return {"type": "ack", "of": kind}
