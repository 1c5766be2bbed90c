"""How a command on one zone runs in this process: the runner PlaybackApplication
mixes in (application/playback.py).

Commands on one zone queue up in this process (one lock per zone), so only
writers in other processes can conflict; those conflicts are retried. A command
starts from a copy of the zone as this process last saved it, with no read of
the store (`OWNED_ZONES` of them, least recently commanded dropped first): if
another process wrote since, the save conflicts and the command runs again on
the stored zone; a command that changes nothing or is refused on the copy is
decided again on the stored zone too (the copy could be behind).
"""

from __future__ import annotations

import random
import threading
from collections import OrderedDict
from collections.abc import Callable
from copy import deepcopy
from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.persistence import IntegrityError
from eventsourcing.utils import EnvType

from application.common import check_live, last_position, load_live, retry_on_conflict
from domain.base import CommandContext, DomainError, NotFound, acting
from domain.playback import AnnouncementItem, QueueItem, ZoneInactive
from domain.zone import Zone

Result = tuple[Zone, int | None]
OWNED_ZONES = 10_000  # zones kept as this process last saved them (commands start there)
KNOWN_OWNERS = 100_000  # zone -> client, for the dispatcher (a zone never changes client)


class ZoneCommands:
    """Mixed into PlaybackApplication (before its Application bases)."""

    repository: Any
    clock: Callable[[], datetime]
    _rng: Callable[[], random.Random]

    def __init__(self, env: EnvType | None = None) -> None:
        super().__init__(env)  # type: ignore[call-arg]
        self._locks: dict[UUID, threading.Lock] = {}  # one per zone ever commanded here
        self._locks_guard = threading.Lock()
        self._owned: OrderedDict[UUID, Zone] = OrderedDict()  # under _locks_guard
        self._owners: dict[UUID, UUID] = {}

    def save(self, *objs: Any, **kwargs: Any) -> Any:
        """Save; a zone saved is no longer commanded from this process's copy of it
        (`_decide` keeps the copy it saved itself)."""
        with self._locks_guard:
            for obj in objs:
                if isinstance(obj, Zone):
                    self._owned.pop(obj.id, None)
        return super().save(*objs, **kwargs)  # type: ignore[misc]

    def get_zone(self, zone_id: UUID, client_id: UUID | None = None) -> Zone:
        """The zone; another client's (or a deleted) zone is reported as absent."""
        return load_live(self.repository, zone_id, Zone, "zone", client_id)

    def zone_owner(self, zone_id: UUID) -> UUID | None:
        try:
            return self.get_zone(zone_id).client_id
        except NotFound:
            return None

    def known_zone_owner(self, zone_id: UUID) -> UUID | None:
        """The zone's client, for the dispatcher's authorization: remembered, since a
        zone never changes client (a zone deleted meanwhile by another process is
        still named here, and the command's own load reports it gone)."""
        owner = self._owners.get(zone_id)
        if owner is None:
            owner = self.zone_owner(zone_id)
            if owner is not None:
                if len(self._owners) >= KNOWN_OWNERS:
                    self._owners.clear()
                self._owners[zone_id] = owner
        return owner

    def command_zone(self, ctx: CommandContext, scope: UUID | None, zone_id: UUID,
                     action: Callable[[Zone], object], *, playing: bool = True) -> Result:
        """Run `action` (a Zone command method) on the zone, as `ctx`, and save it: the
        one way a command changes a zone (see the module docstring). `scope`: the
        caller's client (None: any); `playing`: refused while the zone is deactivated."""
        with self._zone_lock(zone_id):
            with self._locks_guard:
                owned = self._owned.pop(zone_id, None)
            if owned is not None:
                try:
                    done = self._decide(ctx, scope, zone_id, _copy_zone(owned), action, playing)
                except (IntegrityError, DomainError):
                    done = None
                if done is not None:
                    return done
            return self._do_once(ctx, scope, zone_id, action, playing=playing)

    def _zone_lock(self, zone_id: UUID) -> threading.Lock:
        with self._locks_guard:
            lock = self._locks.get(zone_id)
            if lock is None:
                lock = self._locks[zone_id] = threading.Lock()
            return lock

    @retry_on_conflict
    def _do_once(self, ctx: CommandContext, scope: UUID | None, zone_id: UUID,
                 action: Callable[[Zone], object], *, playing: bool = True) -> Result:
        done = self._decide(ctx, scope, zone_id, self.get_zone(zone_id, scope), action,
                            playing, stored=True)
        assert done is not None
        return done

    def _decide(self, ctx: CommandContext, scope: UUID | None, zone_id: UUID, zone: Zone,
                action: Callable[[Zone], object], playing: bool, *,
                stored: bool = False) -> Result | None:
        """Run the command on `zone` and save it (None: a copy that changed nothing)."""
        check_live(zone, zone_id, Zone, "zone", scope)
        if playing:
            _check_active(zone)
        with acting(ctx):
            zone.tick(self.clock(), self._rng())  # items that ended by now come first
            action(zone)
        if not stored and not zone.pending_events:
            return None
        position = last_position(self.save(zone))
        if not zone.is_deleted:
            with self._locks_guard:
                self._owned[zone_id] = zone
                if len(self._owned) > OWNED_ZONES:
                    self._owned.popitem(last=False)
        return zone, position

    def _playable_zone(self, zone_id: UUID, scope: UUID | None) -> Zone:
        return _check_active(self.get_zone(zone_id, scope))


def _check_active(zone: Zone) -> Zone:
    """The zone, if it is not deactivated (live commands are refused then)."""
    if not zone.is_active:
        raise ZoneInactive(f"zone {zone.name} is deactivated")
    return zone


_IMMUTABLE = (str, int, float, bool, type(None), UUID, datetime, QueueItem, AnnouncementItem)


def _copy_zone(zone: Zone) -> Zone:
    """A copy to command (what `deepcopy` gives, in a fifth of the time): queue items,
    ids and times are immutable and shared; lists, sets and dicts are copied."""
    copied = object.__new__(type(zone))
    state = copied.__dict__
    for name, value in zone.__dict__.items():
        kind = type(value)
        if kind is list and all(type(v) in _IMMUTABLE for v in value):
            state[name] = value[:]
        elif kind is set:
            state[name] = set(value)
        elif kind in _IMMUTABLE:
            state[name] = value
        else:
            state[name] = deepcopy(value)
    return copied
