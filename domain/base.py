"""The base aggregate: every event says who caused it and in which request.

The application layer opens a `CommandContext` around each command; every
event an aggregate triggers inside it is stamped with the actor and the
correlation id. Replaying events never consults the context, so stored
events keep the actor they were recorded with.
"""

from __future__ import annotations

import contextvars
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from enum import Enum, StrEnum
from typing import Any, Generic, TypeVar, overload
from uuid import UUID

from eventsourcing.domain import Aggregate


class ActorKind(StrEnum):
    USER = "user"
    DEVICE = "device"
    SCHEDULE = "schedule"
    SYSTEM = "system"


@dataclass(frozen=True)
class Actor:
    kind: ActorKind
    id: str

    @classmethod
    def system(cls, name: str = "system") -> Actor:
        return cls(ActorKind.SYSTEM, name)


@dataclass(frozen=True)
class CommandContext:
    actor: Actor
    correlation_id: str

    @property
    def user_id(self) -> UUID | None:
        """The user acting (None when a device, the scheduler or the system acts)."""
        return UUID(self.actor.id) if self.actor.kind is ActorKind.USER else None


_current: contextvars.ContextVar[CommandContext | None] = contextvars.ContextVar(
    "sync2gear_command_context", default=None
)


@contextmanager
def acting(ctx: CommandContext) -> Iterator[CommandContext]:
    """Stamp every event triggered inside this block with `ctx`."""
    token = _current.set(ctx)
    try:
        yield ctx
    finally:
        _current.reset(token)


def _stamp() -> dict[str, str]:
    ctx = _current.get()
    if ctx is None:
        raise RuntimeError("domain commands must run inside acting(CommandContext)")
    return {
        "actor_kind": ctx.actor.kind.value,
        "actor_id": ctx.actor.id,
        "correlation_id": ctx.correlation_id,
    }


def stamped_user(state: dict[str, Any]) -> UUID | None:
    """The user a stored event's stamp names as its actor (None: not a user).

    Upcasts use it for a `created_by` added to a Created event: the old event
    already says who caused it."""
    return UUID(state["actor_id"]) if state.get("actor_kind") == ActorKind.USER else None


class TracedAggregate(Aggregate):
    """An aggregate whose events carry actor and correlation id."""

    class Event(Aggregate.Event):
        actor_kind: str
        actor_id: str
        correlation_id: str

    class Created(Event, Aggregate.Created):
        pass

    @classmethod
    def _create(cls, event_class: Any, *, id: Any = None, **kwargs: Any) -> Any:  # noqa: A002
        return super()._create(event_class, id=id, **{**_stamp(), **kwargs})

    def trigger_event(self, event_class: Any, **kwargs: Any) -> None:
        super().trigger_event(event_class, **{**_stamp(), **kwargs})

    def _differing(self, changes: dict[str, Any]) -> dict[str, Any]:
        """The fields whose new value differs from the current one."""
        return {k: v for k, v in changes.items() if getattr(self, k) != v}

    def _assign(self, changes: dict[str, Any]) -> None:
        for key, value in changes.items():
            setattr(self, key, value)


E = TypeVar("E", bound=Enum)


class EnumAttribute(Generic[E]):
    """An aggregate attribute read as an enum but stored as its plain value.

    Snapshots store an aggregate's `__dict__` as JSON, which would turn enum
    members into bare strings; keeping the value in `_name` avoids that.
    """

    def __init__(self, enum_class: type[E]) -> None:
        self.enum_class = enum_class
        self.private = ""

    def __set_name__(self, owner: type, name: str) -> None:
        self.private = f"_{name}"

    @overload
    def __get__(self, obj: None, objtype: type | None = None) -> EnumAttribute[E]: ...

    @overload
    def __get__(self, obj: object, objtype: type | None = None) -> E: ...

    def __get__(self, obj: object | None, objtype: type | None = None) -> Any:
        if obj is None:
            return self
        return self.enum_class(getattr(obj, self.private))

    def __set__(self, obj: object, value: E | str) -> None:
        setattr(obj, self.private, self.enum_class(value).value)


class DomainError(Exception):
    """Base of every rule a command can break. `field` names the input it concerns."""

    field: str | None = None

    def __init__(self, detail: str, field: str | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        if field is not None:
            self.field = field


class NotFound(DomainError):
    """The object does not exist (or belongs to another tenant)."""
