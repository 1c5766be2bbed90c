"""`/ws/playback/{zone_id}/`: devices and dashboards follow a zone live.

One Redis subscription per process (the `ZoneHub`) fans every zone's new state
out to that process's sockets. Each socket has its own sender holding only the
newest state, so a slow or dead socket never holds up the others, and a
client that misses versions simply gets the latest full state.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import redis.asyncio as aioredis
from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from starlette.concurrency import run_in_threadpool

from application.authz import Principal
from application.playback import zone_state
from domain.accounts import InvalidToken, Role
from domain.base import Actor, ActorKind, CommandContext, DomainError, NotFound
from infra.bootstrap import Container
from infra.presence import record_heartbeat
from interfaces.http.zones import state_body

log = logging.getLogger(__name__)
router = APIRouter()

SEND_TIMEOUT = 10.0
CLOSE_UNAUTHENTICATED, CLOSE_FORBIDDEN, CLOSE_UNKNOWN_ZONE = 4401, 4403, 4404


class Subscriber:
    """One socket's outbox: only the newest state is kept."""

    def __init__(self, websocket: WebSocket, container: Container, zone_id: str) -> None:
        self.websocket, self.container, self.zone_id = websocket, container, zone_id
        self.latest: tuple[int, dict[str, Any]] | None = None
        self.sent_version = -1
        self.ready = asyncio.Event()

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


class ZoneHub:
    def __init__(self, container: Container) -> None:
        self.container = container
        self.sockets: dict[str, set[Subscriber]] = defaultdict(set)
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._task = asyncio.create_task(self._listen(), name="zone-hub")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

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
        while True:
            client = aioredis.from_url(self.container.redis_url)
            try:
                pubsub = client.pubsub()
                await pubsub.subscribe(self.container.live.channel)
                await self._resync()  # whatever was missed while (re)connecting
                delay = 0.5
                async for message in pubsub.listen():
                    if message.get("type") == "message":
                        self._dispatch(json.loads(message["data"]))
            except asyncio.CancelledError:
                raise
            except Exception as e:
                log.warning("zone hub lost Redis (%s); reconnecting in %.1f s", e, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 10.0)
            finally:
                with contextlib.suppress(Exception):
                    await client.aclose()

    def _dispatch(self, message: dict[str, Any]) -> None:
        for sub in list(self.sockets.get(message["zone_id"], ())):
            sub.offer(int(message["version"]), message["state"])

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


@dataclass(frozen=True)
class Caller:
    actor: Actor
    client_id: UUID | None
    scope: UUID | None  # client whose zones it may command (None: any)
    device_id: UUID | None = None


def authenticate(container: Container, token: str, zone_id: UUID) -> Caller:
    """A user's access token or a device token; raises InvalidToken / NotFound /
    PermissionError (a device token for another zone)."""
    try:
        claims = container.tokens.access(token)
    except InvalidToken:
        device_claims = container.tokens.device_claims(token)
        device = container.devices.check_token(device_claims.device_id, device_claims.token_id)
        if device.zone_id != zone_id:
            raise PermissionError("this device belongs to another zone") from None
        container.playback.get_zone(zone_id, device.client_id)
        return Caller(Actor(ActorKind.DEVICE, str(device.id)), device.client_id,
                      device.client_id, device.id)
    principal = Principal(claims.user_id, Role(claims.role), claims.client_id)
    scope = None if principal.is_staff else principal.client_id
    container.playback.get_zone(zone_id, scope)
    return Caller(principal.actor, principal.client_id, scope)


@router.websocket("/ws/playback/{zone_id}/")
async def playback_socket(websocket: WebSocket, zone_id: str, token: str = "") -> None:
    container: Container = websocket.app.state.container
    hub: ZoneHub = websocket.app.state.hub
    try:
        zone_uuid = UUID(zone_id)
        caller = await run_in_threadpool(authenticate, container, token, zone_uuid)
    except (InvalidToken, ValueError):
        await websocket.close(code=CLOSE_UNAUTHENTICATED)
        return
    except PermissionError:
        await websocket.close(code=CLOSE_FORBIDDEN)
        return
    except NotFound:
        await websocket.close(code=CLOSE_UNKNOWN_ZONE)
        return
    await websocket.accept()
    sub = Subscriber(websocket, container, str(zone_uuid))
    hub.register(sub)
    sender = asyncio.create_task(sub.send_forever())
    try:
        await _resend(container, sub)
        while True:
            message = await websocket.receive_json()
            reply = await run_in_threadpool(handle, container, caller, zone_uuid, message)
            if reply.get("type") == "sync":
                await _resend(container, sub)
            elif reply:
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


COMMANDS = {"pause", "resume", "next", "previous"}


def handle(container: Container, caller: Caller, zone_id: UUID,
           message: Any) -> dict[str, Any]:
    """Run one client message; answers an ack, an error, or a sync request."""
    if not isinstance(message, dict) or not isinstance(message.get("type"), str):
        return {"type": "error", "detail": "messages are JSON objects with a `type`"}
    kind = message["type"]
    ctx = CommandContext(caller.actor, str(message.get("request_id") or uuid.uuid4().hex))
    playback = container.playback
    try:
        if kind == "sync":
            return {"type": "sync"}
        if kind == "heartbeat":
            if caller.device_id is not None:
                device = container.devices.get_device(caller.device_id)
                record_heartbeat(container.devices, container.presence, device, ctx)
            return {"type": "ack", "of": kind}
        if kind == "ended":
            playback.report_ended(ctx, caller.scope, zone_id,
                                  play_seq=int(message["play_seq"]),
                                  queue_position=message.get("queue_position"))
        elif kind in COMMANDS:
            getattr(playback, kind)(ctx, caller.scope, zone_id)
        elif kind == "volume":
            playback.set_volume(ctx, caller.scope, zone_id, int(message["volume"]))
        elif kind == "seek":
            playback.seek(ctx, caller.scope, zone_id, int(message["position_ms"]))
        else:
            return {"type": "error", "detail": f"unknown message type {kind!r}"}
    except DomainError as e:
        return {"type": "error", "of": kind, "detail": e.detail}
    except (KeyError, ValueError, TypeError) as e:
        return {"type": "error", "of": kind, "detail": f"bad message: {e}"}
    return {"type": "ack", "of": kind}
