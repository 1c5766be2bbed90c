"""The zone sockets of one API process: who may follow a zone, and its frames.

One Redis subscription per process (the `ZoneHub`) fans every zone's new state
out to that process's sockets, and hears which sessions, users and devices
changed, so their open sockets are checked again at once.

A zone's frame is encoded once per version (state, signed media URLs and
`server_time`, stamped when the frame is built) and the same text goes to every
socket of the zone. A socket's first frame (and the answer to `sync`) is that
text with `server_time` stamped as it is sent, so a device's first clock sample
is exact; a frame is reused for new sockets while it is younger than
`FRAME_MAX_AGE` (its media URLs stay valid). Each socket has its own sender
holding only the newest frame, so a slow or dead socket never holds up the
others, and a client that misses versions simply gets the latest one
(uvicorn's WebSocket protocol writes a frame into the connection's buffer
without waiting for the client; a client that stops reading is closed by its
ping timeout).

Admission reads Redis only (the session guard and the zone's live state, which
names its client), never the event store, and runs in a few threads of its own
(`ADMISSION_THREADS`): a burst of reconnecting sockets queues for those while
the request threadpool and the event loop keep serving commands and frames.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar
from uuid import UUID

import redis.asyncio as aioredis
from anyio import CapacityLimiter, to_thread
from fastapi import WebSocket

from application.authz import Caller, DevicePrincipal, PermissionDenied, Principal
from application.rules import ZONE_FOLLOW, Target
from application.services import ZoneFeed
from domain.base import DomainError, NotFound
from domain.live_state import zone_state
from interfaces.http.zones import state_body

log = logging.getLogger(__name__)
T = TypeVar("T")

RECHECK_SECONDS = 60.0
FRAME_MAX_AGE = 60.0  # seconds a frame is reused for new sockets (at most half the URL TTL)
ADMISSION_THREADS = 4  # admissions and re-checks at once, beside the request threadpool
CLOSE_UNAUTHENTICATED, CLOSE_FORBIDDEN, CLOSE_UNKNOWN_ZONE = 4401, 4403, 4404


@dataclass(frozen=True)
class Frame:
    """A zone's state as sent to its sockets, encoded once."""

    version: int
    state: dict[str, Any]  # the live state it was built from
    text: str  # ends with `server_time`, stamped when it was built
    head: str  # the text up to `server_time`
    built: float  # time.monotonic()

    def stamped(self) -> str:
        """The same frame with `server_time` now."""
        return f'{self.head}{json.dumps(datetime.now(UTC).isoformat())}}}'


def build_frame(container: ZoneFeed, zone_id: str, state: dict[str, Any]) -> Frame:
    body = state_body(state, container.urls)
    version = int(state["version"])
    frame = {"type": "zone.state", "zone_id": zone_id, "version": version, "state": body,
             "server_time": body["server_time"]}
    text = json.dumps(frame, separators=(",", ":"), ensure_ascii=False)
    head = text[:text.rindex('"server_time":') + len('"server_time":')]
    return Frame(version, state, text, head, time.monotonic())


class Subscriber:
    """One socket: who is on it, and its outbox (only the newest frame is kept)."""

    def __init__(self, websocket: WebSocket, zone_id: str, token: str) -> None:
        self.websocket, self.zone_id, self.token = websocket, zone_id, token
        self.caller: Caller = None  # None until admitted
        self.latest: Frame | None = None
        self.sent_version = -1
        self.stamp = False  # the next frame's server_time: now, not when it was built
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

    def offer(self, frame: Frame, *, force: bool = False) -> None:
        """Send `frame` unless a newer one is waiting; `force`: even if it was sent,
        stamped now (a first frame, or the answer to `sync`)."""
        if force:
            self.sent_version, self.stamp = -1, True
        if self.latest is None or frame.version >= self.latest.version:
            self.latest = frame
        self.ready.set()

    async def send_forever(self) -> None:
        while True:
            await self.ready.wait()
            self.ready.clear()
            frame = self.latest
            if frame is None or frame.version <= self.sent_version:
                continue
            text, self.stamp = (frame.stamped() if self.stamp else frame.text), False
            await self.websocket.send_text(text)
            self.sent_version = frame.version

    async def close(self, code: int, reason: str) -> None:
        if self.closing:
            return
        self.closing = True
        with contextlib.suppress(Exception):
            await self.websocket.close(code=code, reason=reason[:120])


class ZoneHub:
    def __init__(self, container: ZoneFeed) -> None:
        self.container = container
        self.sockets: dict[str, set[Subscriber]] = defaultdict(set)
        self.frames: dict[str, Frame] = {}  # of the zones with sockets here
        self.admission = CapacityLimiter(ADMISSION_THREADS)
        self.max_age = min(FRAME_MAX_AGE, container.urls.ttl / 2)
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

    def counts(self) -> tuple[int, int]:
        """(open sockets, zones they follow) in this process."""
        zones = list(self.sockets.values())
        return sum(len(subs) for subs in zones), len(zones)

    def register(self, sub: Subscriber) -> None:
        self.sockets[sub.zone_id].add(sub)

    def unregister(self, sub: Subscriber) -> None:
        subs = self.sockets.get(sub.zone_id)
        if subs is not None:
            subs.discard(sub)
            if not subs:
                del self.sockets[sub.zone_id]
                self.frames.pop(sub.zone_id, None)

    async def in_thread(self, call: Callable[..., T], *args: Any) -> T:
        """Run a blocking Redis (or fallback PostgreSQL) read in an admission thread."""
        return await to_thread.run_sync(call, *args, limiter=self.admission)

    async def admit(self, sub: Subscriber) -> dict[str, Any]:
        """Admit (or check again) a socket's caller; the zone's newest state known.
        A zone with a frame here has its state and client at hand: only the token
        is checked then (its deletion would have closed its sockets)."""
        zone_id = UUID(sub.zone_id)
        cached = self.frames.get(sub.zone_id)
        if cached is not None and cached.state.get("client_id"):
            owner = UUID(cached.state["client_id"])
            sub.caller = await self.in_thread(check, self.container, sub.token, zone_id, owner)
            return cached.state
        sub.caller, state = await self.in_thread(admit, self.container, sub.token, zone_id)
        return state

    def frame(self, zone_id: str, state: dict[str, Any]) -> Frame:
        """The frame of the newer of `state` and the zone's cached frame: the cached
        one while it is fresh, else one built now (and cached if the zone has sockets)."""
        cached = self.frames.get(zone_id)
        if cached is not None and cached.version >= int(state["version"]):
            if time.monotonic() - cached.built <= self.max_age:
                return cached
            state = cached.state
        frame = build_frame(self.container, zone_id, state)
        if zone_id in self.sockets:
            self.frames[zone_id] = frame
        return frame

    async def deliver(self, zone_id: str, state: dict[str, Any]) -> None:
        subs = list(self.sockets.get(zone_id, ()))
        if not subs:
            return
        if state.get("is_deleted"):
            self.frames.pop(zone_id, None)
            await asyncio.gather(*(s.close(CLOSE_UNKNOWN_ZONE, "the zone has been deleted")
                                   for s in subs))
            return
        frame = self.frame(zone_id, state)
        for sub in subs:
            sub.offer(frame)

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
                    data = json.loads(message["data"])
                    if message["channel"].decode() == auth_channel:
                        await self._changed(data)
                    else:
                        await self.deliver(data["zone_id"], data["state"])
            except asyncio.CancelledError:
                raise
            except Exception as e:
                log.warning("zone hub lost Redis (%s); reconnecting in %.1f s", e, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 10.0)
            finally:
                with contextlib.suppress(Exception):
                    await client.aclose()

    async def _changed(self, changed: dict[str, str]) -> None:
        """A session, user or device changed: its sockets must still be allowed."""
        subs = [s for subs in self.sockets.values() for s in subs if s.concerns(changed)]
        await asyncio.gather(*(self.recheck(sub) for sub in subs))

    async def recheck(self, sub: Subscriber) -> None:
        try:
            await self.admit(sub)
        except DomainError as refused:
            await sub.close(close_code(refused), refused.detail)

    async def _recheck_forever(self) -> None:
        """The backstop of `_changed` (a pub/sub message can be lost): every
        admitted socket is checked again every RECHECK_SECONDS."""
        while True:
            await asyncio.sleep(RECHECK_SECONDS)
            for subs in list(self.sockets.values()):
                for sub in [s for s in subs if s.caller is not None]:
                    with contextlib.suppress(Exception):
                        await self.recheck(sub)

    async def _resync(self) -> None:
        for zone_id in list(self.sockets):
            state = await self.in_thread(current_state, self.container, zone_id)
            if state is not None:
                await self.deliver(zone_id, state)


def live_state(container: ZoneFeed, zone_id: str) -> dict[str, Any] | None:
    """The zone's live state in Redis (None if absent or Redis is unreachable)."""
    with contextlib.suppress(Exception):
        return container.live.current(zone_id)
    return None


def stored_state(container: ZoneFeed, zone_id: str) -> dict[str, Any] | None:
    """The zone's state from the read model, else from the event store."""
    row = container.zones_view.get_zone(UUID(zone_id))
    if row is not None:
        return dict(row["state"])
    try:
        zone = container.playback.get_zone(UUID(zone_id))
        return zone_state(zone, container.loudness.for_zones([zone]))
    except NotFound:
        return None


def current_state(container: ZoneFeed, zone_id: str) -> dict[str, Any] | None:
    """The zone's state: live (Redis), else the read model, else the event store."""
    return live_state(container, zone_id) or stored_state(container, zone_id)


def admit(container: ZoneFeed, token: str, zone_id: UUID) -> tuple[Caller, dict[str, Any]]:
    """The caller of a new or re-checked socket (a valid token of someone who may
    follow this zone) and the zone's state; raises Unauthenticated /
    PermissionDenied / NotFound. The zone's client (which never changes) comes
    from its live state; only a zone missing there is looked up elsewhere."""
    caller = container.guard.caller(token)
    state = live_state(container, str(zone_id))
    if state is not None and state.get("client_id"):
        owner = UUID(state["client_id"])
    else:
        owner = container.dispatcher.owner(Target("zone", zone_id))  # NotFound: never was
        state = stored_state(container, str(zone_id))
    if state is None or state.get("is_deleted"):
        raise NotFound(f"zone {zone_id} not found")
    ZONE_FOLLOW.grant(caller, Target("zone", zone_id), owner)
    return caller, state


def check(container: ZoneFeed, token: str, zone_id: UUID, owner: UUID) -> Caller:
    """The caller of a socket on a zone whose client is known: the token alone."""
    caller = container.guard.caller(token)
    ZONE_FOLLOW.grant(caller, Target("zone", zone_id), owner)
    return caller


def close_code(refused: DomainError) -> int:
    if isinstance(refused, NotFound):
        return CLOSE_UNKNOWN_ZONE
    if isinstance(refused, PermissionDenied):
        return CLOSE_FORBIDDEN
    return CLOSE_UNAUTHENTICATED
