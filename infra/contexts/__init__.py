"""The bounded contexts, each declared once, in a module of its own.

A `Context` names what its context brings to the composition: `build` makes
its application, views, projections and the ports it provides to the
interfaces; `jobs` its leader loops (run once the commands are wired);
`routers` its HTTP and WebSocket routes (matched in the contexts' order, those
of a context marked `first` before all). `infra/bootstrap.py` builds the
contexts in their order (a context may use those before it), and everything
else (tables, lag, waiting, readiness) follows from what they declared.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from eventsourcing.application import Application
from eventsourcing.persistence import TrackingRecorder
from fastapi import APIRouter

from application.dispatch import Dispatcher
from application.services import Ports
from infra.kernel import Kernel
from infra.projection_spec import ProjectionSpec

P = TypeVar("P", bound="Parts")


@dataclass(kw_only=True)
class Parts:
    """What one context built: its application, the projections that follow it (or
    another context's application), and its read models by projection name."""

    application: Application[Any] | None
    specs: list[ProjectionSpec] = field(default_factory=list)
    views: dict[str, TrackingRecorder] = field(default_factory=dict)


@dataclass(frozen=True)
class Job:
    """A step run every `interval` seconds by one process at a time (a leader loop)."""

    name: str
    interval: float
    step: Callable[[], Any]


class Built:
    """The parts of the contexts built so far (by context, and by the class of their
    parts), and the ports they provide."""

    def __init__(self, kernel: Kernel) -> None:
        self.kernel = kernel
        self.ports = Ports()
        self._by_name: dict[str, Parts] = {}
        self._by_kind: dict[type[Parts], Parts] = {}

    def add(self, name: str, parts: Parts) -> None:
        self._by_name[name] = self._by_kind[type(parts)] = parts

    def of(self, kind: type[P]) -> P:
        found = self._by_kind[kind]
        assert isinstance(found, kind)
        return found

    def named(self, name: str) -> Parts:
        return self._by_name[name]

    def all(self) -> list[Parts]:
        return list(self._by_name.values())


@dataclass(frozen=True)
class Wired:
    """The composition once the commands are wired: what jobs run on."""

    built: Built
    dispatcher: Dispatcher


@dataclass(frozen=True)
class Context(Generic[P]):
    name: str
    build: Callable[[Kernel, Built], P]
    jobs: Callable[[P, Wired], list[Job]] = lambda parts, wired: []
    routers: tuple[APIRouter, ...] = ()
    first: bool = False  # its routes are matched before the other contexts'

