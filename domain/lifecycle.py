"""The lifecycle of an aggregate that can be deleted: one way to write it.

A deleted aggregate stays in the store (its events are forever) with
`is_deleted` set, and refuses every later command. Each such aggregate mixes in
`Deletable`, sets `is_deleted = False` in its `__init__`, and records the
deletion as its own nested `Deleted` event, whose stored topic
(`domain.zone:Zone.Deleted`) names the aggregate:

    class Folder(Deletable, TracedAggregate):
        class Deleted(TracedAggregate.Event):
            pass

        _deleted = event(Deleted)(Deletable._deleted)

        def _let_go(self) -> None:  # what else a deleted folder forgets (optional)
            self.items = []

Commands call `self._check_alive()` first. What a deleted aggregate raises is its
own: `NotFound` ("folder <id> not found") unless it sets `deleted_error` and
`deleted_message` (`DeviceDeleted`, "device <id> has been deleted").
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar
from uuid import UUID

from domain.base import DomainError, NotFound


class Deletable:
    """Mixed into an aggregate (before its aggregate base) that can be deleted."""

    deleted_error: ClassVar[type[DomainError]] = NotFound
    deleted_message: ClassVar[str] = "{name} {id} not found"  # name: the class's, lowercase
    is_deleted: bool

    if TYPE_CHECKING:  # the aggregate's

        @property
        def id(self) -> UUID: ...

    def delete(self) -> None:
        self._check_alive()
        self._deleted()

    def _check_alive(self) -> None:
        if self.is_deleted:
            name = type(self).__name__.lower()
            raise self.deleted_error(self.deleted_message.format(name=name, id=self.id))

    def _deleted(self) -> None:
        """The deletion (the aggregate records it as its `Deleted` event): never checks."""
        self.is_deleted = True
        self._let_go()

    def _let_go(self) -> None:
        """What else the aggregate lets go of when it is deleted (nothing by default)."""
