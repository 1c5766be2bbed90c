"""Stored shapes read by later (and earlier) releases.

Every event and snapshot is stored with its class's `class_version` (when
above 1); a later release reads it through the class's `upcast_vN_vM`
methods, as eventsourcing provides. Two cases the library leaves open are
closed here:

- **A snapshot that cannot be used** (written by a newer release, an upcast
  missing or failing, a topic gone) is skipped: the aggregate is replayed
  from its events instead, and the next snapshot replaces it. A snapshot is
  only a cache of the events, so skipping one never loses anything; it must
  never stop a zone.
- **An event written by a newer release** (a `class_version` above the one
  this code knows, or a topic it cannot resolve) is refused with
  `NewerStoredShape`: during a rolling upgrade an old replica fails that
  request clearly (503: another replica can answer) instead of reading the
  event wrongly and saving a wrong one after it.

`domain/shapes.py` keeps the committed catalogue of stored shapes that
makes a shape change without a version bump fail the tests.
"""

from __future__ import annotations

import logging
from typing import Any, cast

from eventsourcing.application import AggregateNotFoundError, Repository
from eventsourcing.domain import CanSnapshotAggregate, DomainEventProtocol
from eventsourcing.persistence import Mapper, MapperDeserialisationError, StoredEvent
from eventsourcing.utils import TopicError, resolve_topic

log = logging.getLogger(__name__)


class NewerStoredShape(Exception):
    """A stored event this release cannot read: a newer release wrote it."""

    def __init__(self, topic: str, detail: str) -> None:
        super().__init__(f"{topic}: {detail}")
        self.topic = topic
        self.detail = (f"the data was written by a newer release of sync2gear ({detail});"
                       " this server runs an older one: retry, another server will answer")


class UnusableSnapshot(Exception):
    pass


def check_version(cls: type[Any], stored: int, topic: str) -> None:
    """Refuse a stored state of a newer `class_version` than `cls` knows."""
    known = getattr(cls, "class_version", 1)
    if stored > known:
        raise NewerStoredShape(topic, f"version {stored} of {topic}, this release knows"
                                      f" up to {known}")


class VersionedMapper(Mapper[Any]):
    """The library's mapper, refusing what a newer release wrote instead of
    misreading it."""

    def to_domain_event(self, stored_event: StoredEvent) -> DomainEventProtocol[Any]:
        try:
            cls = resolve_topic(stored_event.topic)
        except TopicError as error:
            raise NewerStoredShape(stored_event.topic, f"unknown type ({error})") from error
        if not _is_snapshot(cls):
            stored = self._stored_version(stored_event)
            if stored is not None:
                check_version(cls, stored, stored_event.topic)
        return super().to_domain_event(stored_event)

    def _stored_version(self, stored_event: StoredEvent) -> int | None:
        """The `class_version` in the stored state (None: version 1). Version-1
        states have none, so the state is decoded here only when its text names
        one; a state that cannot be decoded is left to the library to report."""
        state = stored_event.state
        try:
            if self.cipher:
                state = self.cipher.decrypt(state)
            if self.compressor:
                state = self.compressor.decompress(state)
            if b'"class_version"' not in state:
                return None
            decoded = self.transcoder.decode(state)
        except Exception:
            return None
        return int(decoded.get("class_version", 1)) if isinstance(decoded, dict) else None


def _is_snapshot(cls: type[Any]) -> bool:
    return isinstance(cls, type) and issubclass(cls, CanSnapshotAggregate)


class SnapshotTolerantRepository(Repository[Any]):
    """A repository that replays from the events when a snapshot cannot be used."""

    def _reconstruct_aggregate(self, aggregate_id: Any, version: int | None,
                               projector_func: Any) -> Any:
        start = self._from_snapshot(aggregate_id, version)
        events = self.event_store.get(
            originator_id=aggregate_id, gt=None if start is None else start.version, lte=version)
        aggregate = projector_func(start, events)
        if aggregate is None:
            raise AggregateNotFoundError(f"Aggregate {aggregate_id!r} version {version!r}"
                                         " not found.")
        return aggregate

    def _from_snapshot(self, aggregate_id: Any, version: int | None) -> Any:
        """The aggregate as its last snapshot (up to `version`) has it, or None when
        there is none or it cannot be used."""
        if self.snapshot_store is None:
            return None
        try:
            snapshots = list(self.snapshot_store.get(
                originator_id=aggregate_id, desc=True, limit=1, lte=version))
            if not snapshots:
                return None
            return usable(snapshots[0])
        except (UnusableSnapshot, NewerStoredShape, MapperDeserialisationError) as error:
            log.warning("snapshot of %s not used, replaying its events instead: %s",
                        aggregate_id, error)
            return None


def usable(snapshot: Any) -> Any:
    """The aggregate a snapshot holds, upcast to this release's class version;
    UnusableSnapshot when it is of a newer version or cannot be upcast."""
    try:
        cls = resolve_topic(snapshot.topic)
    except TopicError as error:
        raise UnusableSnapshot(f"unknown aggregate type {snapshot.topic}") from error
    stored = int(snapshot.state.get("class_version", 1))
    known = getattr(cls, "class_version", 1)
    if stored > known:
        raise UnusableSnapshot(f"version {stored} of {snapshot.topic}, this release knows"
                               f" up to {known}")
    missing = [f"upcast_v{v}_v{v + 1}" for v in range(stored, known)
               if not hasattr(cls, f"upcast_v{v}_v{v + 1}")]
    if missing:
        raise UnusableSnapshot(f"{snapshot.topic} has no {', '.join(missing)}")
    try:
        return snapshot.mutate(None)
    except Exception as error:  # an upcast that fails on this state
        raise UnusableSnapshot(f"{snapshot.topic} v{stored}: {error!r}") from error


class VersionedApplication:
    """Mixin for every Application: the versioned mapper and the repository that
    never stops on a snapshot."""

    def construct_mapper(self) -> Mapper[Any]:
        plain = cast(Mapper[Any], super().construct_mapper())  # type: ignore[misc]
        return VersionedMapper(transcoder=plain.transcoder, compressor=plain.compressor,
                               cipher=plain.cipher)

    def construct_repository(self) -> Repository[Any]:
        plain = cast(Repository[Any], super().construct_repository())  # type: ignore[misc]
        repository = SnapshotTolerantRepository(
            event_store=plain.event_store, snapshot_store=plain.snapshot_store)
        # the library's constructor settings, carried over as it made them
        for name in ("cache", "fastforward", "fastforward_skipping", "deepcopy_from_cache"):
            setattr(repository, name, getattr(plain, name))
        return repository


__all__ = ["NewerStoredShape", "SnapshotTolerantRepository", "UnusableSnapshot",
           "VersionedApplication", "VersionedMapper", "usable"]
