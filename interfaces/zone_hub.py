"""The zone sockets of one API process: the hub that fans frames out to them.

One Redis subscription per process (the `ZoneHub`) fans every zone's new state
out to that process's sockets, and hears which sessions, users and devices
changed, so their open sockets are checked again at once.

A zone's frame (interfaces/zone_sockets.py) is encoded once per version and the
same text goes to every socket of the zone; a frame is reused for new sockets
while it is younger than `FRAME_MAX_AGE` (its media URLs stay valid).

Admission reads Redis only, never the event store. When Redis holds all it
needs (the caller's session entries and the zone's live state, which names its
client) it is one round trip on the event loop; otherwise (interfaces/
zone_sockets.py) it runs in a few threads of its own (`ADMISSION_THREADS`): a
burst of reconnecting sockets queues for those while the request threadpool and
the event loop keep serving commands and frames.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from typing import Any, Protocol, TypeVar
from uuid import UUID

import redis.asyncio as aioredis
from anyio import CapacityLimiter, to_thread

from application.rules import ZONE_FOLLOW, Target
from application.services import ZoneFeed
from domain.base import DomainError
from interfaces.zone_sockets import (
    CLOSE_UNKNOWN_ZONE,
    Frame,
    Subscriber,
    admit,
    build_frame,
    check,
    close_code,
    current_state,
)

log = logging.getLogger(__name__)
T = TypeVar("T")

RECHECK_SECONDS = 60.0
FRAME_MAX_AGE = 60.0  # seconds a frame is reused for new sockets (at most half the URL TTL)
ADMISSION_THREADS = 4  # admissions and re-checks at once, beside the request threadpool


class AuthReader(Protocol):
    """The session cache read from the event loop (infra/auth_cache.py)."""

    async def get_many_with(self, keys: Sequence[str], hash_key: str | None,
                            field: str) -> tuple[list[dict[str, Any] | None], bytes | None]: ...


class ZoneHub:
    def __init__(self, container: ZoneFeed, reader: AuthReader | None = None) -> None:
        self.container, self.reader = container, reader
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
        known = cached.state if cached is not None and cached.state.get("client_id") else None
        admitted = await self._admit_from_redis(sub, zone_id, known)
        if admitted is not None:
            return admitted
        if known is not None:
            owner = UUID(known["client_id"])
            sub.caller = await self.in_thread(check, self.container, sub.token, zone_id, owner)
            return known
        sub.caller, state = await self.in_thread(admit, self.container, sub.token, zone_id)
        return state

    async def _admit_from_redis(self, sub: Subscriber, zone_id: UUID,
                                known: dict[str, Any] | None) -> dict[str, Any] | None:
        """Admit on the event loop, in one Redis round trip, when Redis holds all
        it takes; None (nothing decided) when anything is missing: the threads
        then read the rest. Refusals raise as in the threads."""
        if self.reader is None:
            return None
        guard = self.container.guard
        claims = guard.claims(sub.token)  # no I/O; Unauthenticated if invalid
        live_key = None if known is not None else self.container.live.key(sub.zone_id)
        entries, raw = await self.reader.get_many_with(guard.keys(claims), live_key, "state")
        state = known if known is not None else json.loads(raw) if raw is not None else None
        if (any(entry is None for entry in entries) or state is None
                or not state.get("client_id") or state.get("is_deleted")):
            return None
        caller = guard.check(claims, entries)  # every entry at hand: no I/O
        ZONE_FOLLOW.grant(caller, Target("zone", zone_id), UUID(state["client_id"]))
        sub.caller = caller
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
