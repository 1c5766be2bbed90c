"""The Folder aggregate: an ordered collection of tracks (or announcements)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from eventsourcing.domain import event

from domain.base import EnumAttribute, TracedAggregate, stamped_user
from domain.library import FolderType, InvalidOrder, LibraryError, SystemFolderProtected
from domain.lifecycle import Deletable


class Folder(Deletable, TracedAggregate):
    # 2: who created the folder (`created_by`) and system folders (`is_system`)
    class_version = 2
    type = EnumAttribute(FolderType)

    @staticmethod
    def upcast_v1_v2(state: dict[str, Any]) -> None:
        # A snapshot does not hold who created the folder (its Created event does):
        # an old folder loaded from one shows no creator.
        state.update(created_by=None, is_system=False)

    class Created(TracedAggregate.Created):
        # 2: created_by and is_system
        class_version = 2
        client_id: UUID
        type: str
        name: str
        description: str
        created_by: UUID | None
        is_system: bool

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            state.update(created_by=stamped_user(state), is_system=False)

    @event(Created)
    def __init__(self, client_id: UUID, type: str, name: str, description: str,  # noqa: A002
                 created_by: UUID | None, is_system: bool) -> None:
        self.client_id = client_id
        self.type = FolderType(type)
        self.name = name
        self.description = description
        self.created_by, self.is_system = created_by, is_system
        self.items: list[UUID] = []
        self.cover_key: str | None = None
        self.thumbnail_key: str | None = None
        self.is_deleted = False

    @classmethod
    def create(
        cls, *, client_id: UUID, type: FolderType, name: str, description: str = "",  # noqa: A002
        created_by: UUID | None = None, is_system: bool = False,
    ) -> Folder:
        if not name.strip():
            raise LibraryError("a folder needs a name")
        return cls(client_id=client_id, type=FolderType(type).value, name=name.strip(),
                   description=description, created_by=created_by, is_system=is_system)

    class DetailsChanged(TracedAggregate.Event):
        changes: dict[str, Any]

    def change(self, **changes: Any) -> None:
        self._check_alive()
        unknown = set(changes) - {"name", "description"}
        if unknown:
            raise LibraryError(f"these folder fields cannot be changed: {sorted(unknown)}")
        if "name" in changes and not str(changes["name"]).strip():
            raise LibraryError("a folder needs a name")
        changed = self._differing(changes)
        if changed:
            self._details_changed(changes=changed)

    @event(DetailsChanged)
    def _details_changed(self, changes: dict[str, Any]) -> None:
        self._assign(changes)

    class ItemAdded(TracedAggregate.Event):
        item_id: UUID

    def add(self, item_id: UUID) -> None:
        self._check_alive()
        if item_id not in self.items:
            self._item_added(item_id=item_id)

    @event(ItemAdded)
    def _item_added(self, item_id: UUID) -> None:
        self.items.append(item_id)

    class ItemRemoved(TracedAggregate.Event):
        item_id: UUID

    def remove(self, item_id: UUID) -> None:
        if item_id in self.items:
            self._item_removed(item_id=item_id)

    @event(ItemRemoved)
    def _item_removed(self, item_id: UUID) -> None:
        self.items.remove(item_id)

    class Reordered(TracedAggregate.Event):
        items: list[UUID]

    def reorder(self, items: list[UUID]) -> None:
        """Replace the order at once; the new order must hold exactly the same items."""
        self._check_alive()
        if len(items) != len(set(items)) or set(items) != set(self.items):
            raise InvalidOrder(
                "the new order must list each of the folder's "
                f"{len(self.items)} items exactly once"
            )
        if items != self.items:
            self._reordered(items=list(items))

    @event(Reordered)
    def _reordered(self, items: list[UUID]) -> None:
        self.items = list(items)

    class CoverSet(TracedAggregate.Event):
        cover_key: str
        thumbnail_key: str

    def set_cover(self, cover_key: str, thumbnail_key: str) -> None:
        self._check_alive()
        self._cover_set(cover_key=cover_key, thumbnail_key=thumbnail_key)

    @event(CoverSet)
    def _cover_set(self, cover_key: str, thumbnail_key: str) -> None:
        self.cover_key, self.thumbnail_key = cover_key, thumbnail_key

    class Deleted(TracedAggregate.Event):
        pass

    def delete(self, *, including_system: bool = False) -> None:
        """A system folder is deleted only when `including_system` (by an admin)."""
        self._check_alive()
        if self.is_system and not including_system:
            raise SystemFolderProtected(
                f"folder {self.id} is a system folder: only a sync2gear admin can delete it")
        self._deleted()

    _deleted = event(Deleted)(Deletable._deleted)  # (domain/lifecycle.py)

    def _let_go(self) -> None:
        self.items = []
