"""The one command dispatcher: every transport hands its commands to it.

HTTP routes, WebSocket messages, the CLI and the scheduler turn their input
into a typed `Command` and call `Dispatcher.dispatch(caller, command, ...)`.
The dispatcher finds the client owning the command's target, counts the
command against the caller's rate limit, applies the command's rule
(`application.rules`), and only then runs the handler registered for the command's class.
A command class without a handler, or without a rule, cannot be dispatched.

Commands that a device or dashboard may send over the zone's WebSocket name
their `message` type; the WebSocket endpoint finds them here, so a new zone
command needs no WebSocket-specific code.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Generic, TypeVar, cast
from uuid import UUID

from application.authz import (
    Caller,
    DevicePrincipal,
    Principal,
    Unauthenticated,
    actor_of,
)
from application.rules import Grant, Rule, Target
from domain.base import CommandContext, DomainError, NotFound

R = TypeVar("R")
C = TypeVar("C", bound="Command[Any]")

OwnerLookup = Callable[[UUID], UUID | None]
Limiter = Callable[[Principal | DevicePrincipal, "Command[Any]"], None]
# Told of every command: its class name, its outcome ("ok"; "refused": not allowed,
# not found or rate limited; "rejected": a broken domain rule; "error") and seconds run.
Observer = Callable[[str, str, float], None]
# Raises when a client may not command now (its subscription lapsed).
Standing = Callable[[UUID], None]


@dataclass(frozen=True)
class Command(Generic[R]):
    """A request to change something. Subclasses are frozen dataclasses that
    set `rule`, and `target_kind` when they act on one object (whose id is the
    field `<target_kind>_id`)."""

    rule: ClassVar[Rule]
    target_kind: ClassVar[str | None] = None
    message: ClassVar[str | None] = None  # its WebSocket message type, if any
    # Allowed to a lapsed client's users and devices (logging out, heartbeats).
    while_lapsed: ClassVar[bool] = False

    def target(self) -> Target | None:
        if self.target_kind is None:
            return None
        return Target(self.target_kind, getattr(self, f"{self.target_kind}_id"))


Handler = Callable[[Any, Grant, CommandContext], Any]


@dataclass(frozen=True)
class Authorized(Generic[R]):
    """A command that passed its rule, ready to run (see `Dispatcher.authorize`)."""

    command: Command[R]
    grant: Grant
    ctx: CommandContext


class Dispatcher:
    """Authorizes, then runs, every command (thread-safe)."""

    def __init__(self, owners: Mapping[str, OwnerLookup], *, limiter: Limiter | None = None,
                 observer: Observer | None = None, standing: Standing | None = None,
                 cache_size: int = 100_000) -> None:
        self._owners = dict(owners)
        self._limiter = limiter
        self._standing = standing
        self._observe: Observer = observer or (lambda command, outcome, seconds: None)
        self._handlers: dict[type[Command[Any]], Handler] = {}
        # Who owns an object never changes, so it is looked up once per object.
        self._cache: OrderedDict[Target, UUID] = OrderedDict()
        self._cache_size = cache_size
        self._guard = threading.Lock()

    def register(self, command_class: type[C], handler: Callable[[C, Grant, CommandContext],
                                                                  Any]) -> None:
        if not isinstance(getattr(command_class, "rule", None), Rule):
            raise TypeError(f"{command_class.__name__} names no authorization rule")
        kind = command_class.target_kind
        if kind is not None and kind not in self._owners:
            raise TypeError(f"{command_class.__name__}: no owner lookup for {kind!r}")
        if command_class in self._handlers:
            raise TypeError(f"{command_class.__name__} already has a handler")
        self._handlers[command_class] = cast(Handler, handler)

    def register_all(self, handlers: Iterable[tuple[type[Any], Handler]]) -> None:
        for command_class, handler in handlers:
            self.register(command_class, handler)

    @property
    def command_classes(self) -> list[type[Command[Any]]]:
        return list(self._handlers)

    def messages(self) -> dict[str, type[Command[Any]]]:
        """The WebSocket message types, by name."""
        return {cls.message: cls for cls in self._handlers if cls.message}

    def authorize(self, caller: Caller, command: Command[R],
                  correlation_id: str) -> Authorized[R]:
        """Apply the command's rule and rate limit; raise if refused."""
        try:
            return self._authorize(caller, command, correlation_id)
        except DomainError:
            self._observe(type(command).__name__, "refused", 0.0)
            raise

    def _authorize(self, caller: Caller, command: Command[R],
                   correlation_id: str) -> Authorized[R]:
        if type(command) not in self._handlers:
            raise TypeError(f"no handler for {type(command).__name__}")
        rule = type(command).rule
        if caller is None and rule.needs_caller:  # before anything is looked up
            raise Unauthenticated("authentication credentials were not provided")
        if self._limiter is not None and isinstance(caller, Principal | DevicePrincipal):
            self._limiter(caller, command)  # refused attempts count too
        target = command.target()
        owner = self.owner(target) if target is not None else None
        grant = rule.grant(caller, target, owner)
        self._check_standing(caller, command)
        return Authorized(command, grant, CommandContext(actor_of(caller), correlation_id))

    def _check_standing(self, caller: Caller, command: Command[Any]) -> None:
        """A client's users and devices command only while its subscription runs
        (every transport comes through here; staff and admins are not refused)."""
        if self._standing is None or type(command).while_lapsed:
            return
        client_id = (caller.client_id if isinstance(caller, DevicePrincipal)
                     else caller.client_id if isinstance(caller, Principal)
                     and not caller.is_staff else None)
        if client_id is not None:
            self._standing(client_id)

    def run(self, authorized: Authorized[R]) -> R:
        handler = self._handlers[type(authorized.command)]
        name, started, outcome = type(authorized.command).__name__, time.perf_counter(), "error"
        try:
            result = cast(R, handler(authorized.command, authorized.grant, authorized.ctx))
            outcome = "ok"
            return result
        except DomainError:
            outcome = "rejected"
            raise
        finally:
            self._observe(name, outcome, time.perf_counter() - started)

    def dispatch(self, caller: Caller, command: Command[R], correlation_id: str) -> R:
        return self.run(self.authorize(caller, command, correlation_id))

    def owner(self, target: Target) -> UUID:
        """The client owning `target`; NotFound when there is no such object."""
        with self._guard:
            owner = self._cache.get(target)
            if owner is not None:
                self._cache.move_to_end(target)
                return owner
        found = self._owners[target.kind](target.id)
        if found is None:
            raise NotFound(f"{target.kind} {target.id} not found")
        with self._guard:
            self._cache[target] = found
            if len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        return found
