"""One zone socket: what it is sent (its frames) and who may follow the zone.

A zone's frame is encoded once per version (state, signed media URLs and
`server_time`, stamped when the frame is built) and the same text goes to every
socket of the zone. A socket's first frame (and the answer to `sync`) is that
text with `server_time` stamped as it is sent, so a device's first clock sample
is exact. Each socket has its own sender holding only the newest frame, so a
slow or dead socket never holds up the others, and a client that misses
versions simply gets the latest one (uvicorn's WebSocket protocol writes a
frame into the connection's buffer without waiting for the client; a client
that stops reading is closed by its ping timeout).

Admission reads Redis only (the session guard and the zone's live state, which
names its client), never the event store; the hub (interfaces/zone_hub.py)
runs it in threads of its own.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from fastapi import WebSocket

from application.authz import Caller, DevicePrincipal, PermissionDenied, Principal
from application.rules import ZONE_FOLLOW, Target
from application.services import ZoneFeed
from domain.base import DomainError, NotFound
from domain.live_state import zone_state
from interfaces.http.zones import state_body

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
