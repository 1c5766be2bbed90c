"""After the contexts are built: the one command dispatcher over all of them, and
the ports that belong to no one context (storage, tokens, limits, the sockets' feed)."""

from __future__ import annotations

from application.authz import caller_key
from application.dispatch import Dispatcher
from application.presence import record_heartbeat
from application.services import (
    DISPATCHER,
    LOCAL_FILES,
    MEDIA_URLS,
    RATE_LIMITS,
    SETTINGS,
    STORAGE,
    TOKENS,
    ZONE_FEED,
    InterfaceSettings,
    ZoneFeed,
)
from infra.commands import build_dispatcher
from infra.contexts import Built, Wired
from infra.contexts.accounts import AccountsParts
from infra.contexts.devices import DevicesParts
from infra.contexts.library import LibraryParts
from infra.contexts.playback import PlaybackParts
from infra.contexts.scheduling import SchedulingParts
from infra.contexts.sessions import SessionsParts
from infra.metrics import observe_command
from infra.storage import LocalStorage


def wire(built: Built) -> Wired:
    kernel = built.kernel
    accounts, library = built.of(AccountsParts), built.of(LibraryParts)
    playback, devices = built.of(PlaybackParts), built.of(DevicesParts)
    limiter = kernel.rate_limiter
    dispatcher = build_dispatcher(
        plans=accounts.plans, accounts=accounts.application, library=library.application,
        playback=playback.application, devices=devices.application,
        scheduling=built.of(SchedulingParts).application, catalog=library.catalog,
        media=library.processor, settings=kernel.settings,
        heartbeat=lambda device, ip, ctx: record_heartbeat(
            devices.application, devices.presence, device, ctx, ip),
        limiter=lambda caller, _: limiter.hit("command", caller_key(caller)),
        observer=observe_command)
    _provide_shared(built, dispatcher)
    return Wired(built, dispatcher)


def _provide_shared(built: Built, dispatcher: Dispatcher) -> None:
    kernel, ports, s = built.kernel, built.ports, built.kernel.settings
    storage = kernel.storage
    ports.provide(DISPATCHER, dispatcher)
    ports.provide(TOKENS, kernel.tokens)
    ports.provide(RATE_LIMITS, kernel.rate_limiter)
    ports.provide(STORAGE, storage)
    ports.provide(MEDIA_URLS, kernel.urls)
    ports.provide(LOCAL_FILES, storage if isinstance(storage, LocalStorage) else None)
    ports.provide(SETTINGS, InterfaceSettings(max_upload_bytes=s.max_upload_bytes,
                                              tts_default_language=s.tts_default_language))
    playback = built.of(PlaybackParts)
    ports.provide(ZONE_FEED, ZoneFeed(
        redis_url=kernel.redis_url, live=playback.live, auth_cache=kernel.auth_cache,
        zones_view=playback.zones_view, playback=playback.application,
        loudness=built.of(LibraryParts).loudness, guard=built.of(SessionsParts).guard,
        dispatcher=dispatcher, urls=kernel.urls))
