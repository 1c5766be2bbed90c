"""Pieces every Application shares: transcodings, conflict retries, results."""

from __future__ import annotations

import functools
import logging
import random
import time
from collections.abc import Callable, Iterable, Sequence
from datetime import date
from typing import Any, ParamSpec, TypeVar, cast
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Repository
from eventsourcing.persistence import IntegrityError, JSONTranscoder, Recording, Transcoding

from domain.base import DomainError, NotFound
from domain.roster import Roster

log = logging.getLogger(__name__)

MAX_CONFLICT_ATTEMPTS = 25

P = ParamSpec("P")
R = TypeVar("R")


class ConcurrencyConflict(DomainError):
    """Another command changed the same aggregate; retrying did not help."""


def retry_on_conflict(fn: Callable[P, R]) -> Callable[P, R]:
    """Re-run a command that lost an optimistic-concurrency race.

    The command reloads its aggregates on each attempt, so it decides again on
    fresh state; after MAX_CONFLICT_ATTEMPTS (with jittered back-off) it gives up
    with a 409.
    """

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        for attempt in range(1, MAX_CONFLICT_ATTEMPTS + 1):
            try:
                return fn(*args, **kwargs)
            except IntegrityError:
                log.info("conflict in %s, attempt %d", fn.__qualname__, attempt)
                # A little random back-off spreads out writers racing for one stream.
                time.sleep(random.uniform(0, 0.002 * attempt))
        raise ConcurrencyConflict(
            "the object was changed by another request at the same time; try again"
        )

    return wrapper


def last_position(recordings: Sequence[Recording[Any]]) -> int | None:
    """The notification id of the last event a command stored."""
    return recordings[-1].notification.id if recordings else None


class DateAsISO(Transcoding):
    type = date
    name = "date_iso"

    def encode(self, obj: date) -> str:
        return obj.isoformat()

    def decode(self, data: str) -> date:
        return date.fromisoformat(data)


class SetAsList(Transcoding):
    """Sets (of ids) in snapshots: JSON has no sets."""

    type = set
    name = "set"

    def encode(self, obj: set[Any]) -> list[Any]:
        return sorted(obj, key=str)

    def decode(self, data: list[Any]) -> set[Any]:
        return set(data)


def register_common_transcodings(transcoder: JSONTranscoder) -> None:
    transcoder.register(DateAsISO())


A = TypeVar("A")


def load_live(repository: Repository[Any], agg_id: Any, cls: type[A], what: str,
              client_id: Any = None) -> A:
    """The aggregate; a missing, deleted or other client's one is reported as absent."""
    try:
        agg: Any = repository.get(agg_id)
    except AggregateNotFoundError:
        raise NotFound(f"{what} {agg_id} not found") from None
    return check_live(agg, agg_id, cls, what, client_id)


def check_live(agg: Any, agg_id: Any, cls: type[A], what: str, client_id: Any = None) -> A:
    """`agg` if it is a live `cls` of the client (when given); else NotFound."""
    owner = getattr(agg, "client_id", None)
    if (not isinstance(agg, cls) or getattr(agg, "is_deleted", False)
            or (client_id is not None and owner != client_id)):
        raise NotFound(f"{what} {agg_id} not found")
    return agg


RosterT = TypeVar("RosterT", bound=Roster)


def stored_roster(repository: Repository[Any], cls: type[RosterT],
                  client_id: UUID) -> RosterT | None:
    """The client's roster of this kind, None when it was never opened."""
    try:
        return cast(RosterT, repository.get(cls.create_id(client_id)))
    except AggregateNotFoundError:
        return None


def open_roster(repository: Repository[Any], cls: type[RosterT], client_id: UUID,
                existing: Callable[[], Iterable[UUID]]) -> RosterT:
    """The client's roster, opened on first use (call inside `acting`) with what the
    client had before rosters existed: `existing()`, called that once."""
    roster = stored_roster(repository, cls, client_id)
    if roster is None:
        roster = cls(client_id=client_id, member_ids=sorted(set(existing()), key=str))
    return roster


SaveObserver = Callable[[Sequence[Any]], None]


class ObservedSaves:
    """Mixin for an Application: observers see the events of every save, after
    they are stored (a failing observer is logged, never undoes the save)."""

    _save_observers: list[SaveObserver]

    def observe_saves(self, observer: SaveObserver) -> None:
        if not hasattr(self, "_save_observers"):
            self._save_observers = []
        self._save_observers.append(observer)

    def _notify(self, recordings: list[Recording[Any]]) -> None:
        super()._notify(recordings)  # type: ignore[misc]
        events = [r.domain_event for r in recordings]
        for observer in getattr(self, "_save_observers", ()):
            try:
                observer(events)
            except Exception:
                log.exception("save observer %r failed", observer)


def owner_lookup(get: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """The dispatcher's owner lookup over a loader that raises NotFound: the
    object's client id, or None when there is no such (live) object."""

    def owner(agg_id: Any) -> Any:
        try:
            return get(agg_id).client_id
        except NotFound:
            return None

    return owner
