"""Housekeeping: what nothing else removes, removed by one leader every few minutes.

* Sessions whose newest refresh token has outlived its lifetime end
  (`Session.Revoked`, reason "expired"); the session guard then drops their
  cache entries from Redis.
* Pairing codes whose time ran out unused are retired (`PairingCode.Expired`)
  and leave the devices read model.
* Media files no event refers to are removed `orphan_grace` after they were
  first found so. The candidates are the stored keys that no row of the
  library or accounts read model names; each is marked in a Redis hash with
  when it was first seen; once the grace has passed, the events of every
  aggregate whose id is in the key (tracks, announcements, folders, users: a
  key always carries its owner's id) are read back from the event store, and a
  file any of them mentions is kept for good. A key with no id in it has no
  owner to ask and is never removed.

Everything here is idempotent (commands that re-check their aggregate, marks
set only if absent, deletes of missing files are no errors): two runs at once,
say while leadership moves, do no harm.
"""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

import redis
from eventsourcing.application import Application

from application.accounts import AccountsApplication
from application.devices import DevicesApplication
from application.ports import BlobStorage
from domain.base import Actor, CommandContext
from infra.postgres.accounts_view import PostgresAccountsView
from infra.postgres.devices_view import PostgresDevicesView
from infra.postgres.library_view import PostgresLibraryView

log = logging.getLogger(__name__)

BATCH = 500
KEPT = "referenced"  # the mark of a file an event refers to: never looked at again
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


@dataclass(frozen=True)
class Swept:
    sessions_expired: int = 0
    pairing_codes_expired: int = 0
    orphans_found: int = 0
    orphans_removed: int = 0


class Housekeeping:
    def __init__(self, *, accounts: AccountsApplication, devices: DevicesApplication,
                 library: Application[UUID], accounts_view: PostgresAccountsView,
                 devices_view: PostgresDevicesView, library_view: PostgresLibraryView,
                 storage: BlobStorage, redis_client: redis.Redis, prefix: str,
                 clock: Callable[[], datetime], session_lifetime: timedelta,
                 orphan_grace: timedelta) -> None:
        self.accounts, self.devices, self.library = accounts, devices, library
        self.accounts_view, self.devices_view = accounts_view, devices_view
        self.library_view, self.storage = library_view, storage
        self.marks = OrphanMarks(redis_client, f"{prefix}housekeeping:orphans")
        self.clock, self.session_lifetime, self.orphan_grace = (
            clock, session_lifetime, orphan_grace)

    def run(self) -> Swept:
        now = self.clock()
        swept = Swept(self.expire_sessions(now), self.expire_pairing_codes(now),
                      *self.remove_orphans(now))
        if swept != Swept():
            log.info("housekeeping: %s", swept)
        return swept

    # -- sessions and pairing codes ----------------------------------------------------

    def expire_sessions(self, now: datetime) -> int:
        ids = self.accounts_view.sessions_refreshed_before(now - self.session_lifetime, BATCH)
        return sum(self.accounts.expire_session(_context(), session_id, now=now,
                                                lifetime=self.session_lifetime)
                   for session_id in ids)

    def expire_pairing_codes(self, now: datetime) -> int:
        ids = self.devices_view.unused_pairing_codes_expired(now, BATCH)
        return sum(self.devices.expire_pairing_code(_context(), pairing_id, now=now)
                   for pairing_id in ids)

    # -- orphaned media ----------------------------------------------------------------

    def remove_orphans(self, now: datetime) -> tuple[int, int]:
        """(files found orphaned, files removed) in this run."""
        referenced = self.library_view.media_keys() | self.accounts_view.avatar_keys()
        candidates = [key for key in self.storage.list_keys() if key not in referenced]
        first_seen = self.marks.mark(candidates, now.timestamp())
        removed, grace = 0, self.orphan_grace.total_seconds()
        for key in candidates:
            seen = first_seen.get(key)  # None: removed by another run meanwhile
            if seen is None or seen == KEPT or now.timestamp() - float(seen) < grace:
                continue
            if self._mentioned_by_events(key):
                self.marks.keep(key)
                continue
            self.storage.delete(key)
            self.marks.forget([key])
            removed += 1
            log.info("housekeeping: removed orphaned media %s", key)
        return len(candidates), removed

    def _mentioned_by_events(self, key: str) -> bool:
        """Whether any event of an aggregate named in `key` mentions it (True when the
        key names none: a file of unknown owner is not ours to remove)."""
        owners = [UUID(text) for text in _UUID.findall(key)]
        if not owners:
            return True
        apps: list[Application[UUID]] = [self.library, self.accounts]
        return any(_mentions(event, key) for app in apps for owner in owners
                   for event in app.events.get(owner))


class OrphanMarks:
    """When each orphaned file was first seen (epoch seconds), or KEPT, in a Redis hash."""

    def __init__(self, client: redis.Redis, name: str) -> None:
        self._redis, self.name = client, name

    def mark(self, keys: list[str], now: float) -> dict[str, str]:
        """Mark `keys` first seen `now` unless already marked; drop the marks of keys
        no longer orphaned (referenced meanwhile, or gone); every key's mark."""
        raw: dict[Any, Any] = self._redis.hgetall(self.name)
        marks = {_text(k): _text(v) for k, v in raw.items()}
        self.forget([k for k in marks if k not in set(keys)])
        for key in keys:
            if key not in marks:
                self._redis.hsetnx(self.name, key, repr(now))
        if not keys:
            return {}
        values: list[Any] = self._redis.hmget(self.name, keys)
        return {k: _text(v) for k, v in zip(keys, values, strict=True) if v is not None}

    def keep(self, key: str) -> None:
        self._redis.hset(self.name, key, KEPT)

    def forget(self, keys: Iterable[str]) -> None:
        keys = list(keys)
        if keys:
            self._redis.hdel(self.name, *keys)


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _context() -> CommandContext:
    return CommandContext(Actor.system("housekeeping"), f"housekeeping-{uuid.uuid4().hex}")


def _mentions(value: Any, key: str) -> bool:
    return any(key in text for text in _strings(value))


def _strings(value: Any, depth: int = 0) -> Iterator[str]:
    if depth > 6:
        return
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item, depth + 1)
    elif isinstance(value, list | tuple | set | frozenset):
        for item in value:
            yield from _strings(item, depth + 1)
    elif hasattr(value, "__dict__"):
        yield from _strings(vars(value), depth + 1)
