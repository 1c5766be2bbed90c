"""The seed's folder and schedule fields: who created them, system folders, and a
schedule's `content_type` (derived from its `type`, never stored)."""

from __future__ import annotations

from typing import Any
from uuid import uuid4

import pytest

from domain.base import Actor, ActorKind, CommandContext, acting
from domain.folder import Folder
from domain.library import FolderType, SystemFolderProtected
from domain.schedule import InvalidSchedule, Schedule, check_content_type, content_type_of

USER = uuid4()
AS_USER = CommandContext(Actor(ActorKind.USER, str(USER)), "seed-test")


def _v1_created(actor_kind: str, actor_id: str) -> dict[str, Any]:
    return {"client_id": uuid4(), "type": "music", "name": "Old", "description": "",
            "actor_kind": actor_kind, "actor_id": actor_id, "correlation_id": "c"}


def test_an_old_folder_created_event_names_its_creator_from_its_own_stamp() -> None:
    by_user, by_system = _v1_created("user", str(USER)), _v1_created("system", "cli")

    Folder.Created.upcast_v1_v2(by_user)
    Folder.Created.upcast_v1_v2(by_system)

    assert (by_user["created_by"], by_user["is_system"]) == (USER, False)
    assert (by_system["created_by"], by_system["is_system"]) == (None, False)
    state = _v1_created("user", str(USER))
    Schedule.Created.upcast_v1_v2(state)
    assert state["created_by"] == USER


def test_a_snapshot_of_version_1_has_no_creator_and_is_no_system_folder() -> None:
    folder_state: dict[str, Any] = {"name": "Old"}
    schedule_state: dict[str, Any] = {}

    Folder.upcast_v1_v2(folder_state)
    Schedule.upcast_v1_v2(schedule_state)

    assert folder_state == {"name": "Old", "created_by": None, "is_system": False}
    assert schedule_state == {"created_by": None}


def test_a_system_folder_is_deleted_only_when_system_folders_are_included() -> None:
    with acting(AS_USER):
        folder = Folder.create(client_id=uuid4(), type=FolderType.ANNOUNCEMENT,
                               name="Announcements", created_by=USER, is_system=True)
        with pytest.raises(SystemFolderProtected):
            folder.delete()
        assert not folder.is_deleted
        folder.delete(including_system=True)
    assert folder.is_deleted and folder.created_by == USER


def test_content_type_follows_the_schedules_type() -> None:
    assert (content_type_of("music"), content_type_of("announcement")) == (
        "folder", "announcement")
    check_content_type("music", None)
    check_content_type("music", "folder")
    with pytest.raises(InvalidSchedule) as refused:
        check_content_type("announcement", "folder")
    assert refused.value.field == "content_type"
