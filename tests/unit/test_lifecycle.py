"""Deleting an aggregate, the same way for every kind (domain/lifecycle.py): its own
`Deleted` event (stored topic), `is_deleted` in its state, what else it lets go of,
and the error its kind raises for any later command."""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any
from uuid import UUID, uuid4

import pytest
from eventsourcing.utils import get_topic

from domain.announcement import Announcement, Media
from domain.base import Actor, ActorKind, CommandContext, NotFound, acting
from domain.device import Device, DeviceDeleted
from domain.folder import Folder
from domain.library import FolderType, TrackDeleted
from domain.lifecycle import Deletable
from domain.playback import AnnouncementItem, QueueItem
from domain.schedule import Schedule
from domain.track import Track
from domain.zone import Zone

CTX = CommandContext(Actor(ActorKind.USER, str(uuid4())), "lifecycle-test")
CLIENT = UUID(int=3)
T0 = datetime(2026, 1, 1, 12, tzinfo=UTC)
MEDIA = Media("m/a.mp3", "audio/mpeg", "mp3", 12.5, 1000, "hash")


@pytest.fixture(autouse=True)
def _acting() -> Iterator[None]:
    with acting(CTX):
        yield


def a_zone_playing() -> Zone:
    zone = Zone.create(client_id=CLIENT, name="Bar")
    zone.play([QueueItem(UUID(int=1), 60_000, "m/1.mp3", "audio/mpeg", "One")], shuffle=False,
              source={"kind": "folder"}, rng=random.Random(0), now=T0)
    zone.play_announcement(AnnouncementItem(UUID(int=2), 5_000, "a/2.mp3", "audio/mpeg", "Two"),
                           T0)
    return zone


def a_device_online() -> Device:
    device = Device.register(client_id=CLIENT, zone_id=UUID(int=1), hardware_id="hw-1",
                             name="Speaker", device_type="speaker")
    device.go_online("10.0.0.1", T0)
    device.issue_token("token-1")
    return device


def a_folder_with_items() -> Folder:
    folder = Folder.create(client_id=CLIENT, type=FolderType.MUSIC, name="Jazz")
    folder.add(UUID(int=5))
    return folder


def a_schedule() -> Schedule:
    rule = {"name": "Morning", "type": "music", "mode": "timeline",
            "folder_ids": [str(uuid4())], "start_time": "09:00:00", "end_time": "12:00:00",
            "zone_ids": [str(uuid4())]}
    return Schedule.create(client_id=CLIENT, rule=rule, is_active=True, now=T0)


def a_track() -> Track:
    return Track.upload(id=uuid4(), client_id=CLIENT, folder_id=None, filename="a.mp3",
                        file_size=1000, content_hash="h", media_key="m/a.mp3",
                        content_type="audio/mpeg", format="mp3", duration=12.5)


def an_announcement() -> Announcement:
    return Announcement.upload(id=uuid4(), client_id=CLIENT, title="Closing", folder_id=None,
                               media=MEDIA, is_recording=False)


# kind, what a later command raises and says, what else deletion clears
KINDS: list[tuple[Callable[[], Any], type[Exception], str, dict[str, Any]]] = [
    (a_zone_playing, NotFound, "zone {id} not found",
     {"music_playing": False, "announcement": None, "pending": []}),
    (a_device_online, DeviceDeleted, "device {id} has been deleted",
     {"is_online": False, "token_id": None}),
    (a_folder_with_items, NotFound, "folder {id} not found", {"items": []}),
    (a_schedule, NotFound, "schedule {id} not found", {"is_active": False}),
    (a_track, TrackDeleted, "track {id} has been deleted", {}),
    (an_announcement, NotFound, "announcement {id} not found", {}),
]


@pytest.mark.parametrize(("make", "error", "message", "cleared"), KINDS,
                         ids=[k[0].__name__ for k in KINDS])
def test_a_deleted_aggregate_records_its_own_event_and_refuses_what_follows(
        make: Callable[[], Any], error: type[Exception], message: str,
        cleared: dict[str, Any]) -> None:
    aggregate = make()
    assert isinstance(aggregate, Deletable) and not aggregate.is_deleted
    aggregate.delete()
    events = aggregate.collect_events()
    kind = type(aggregate)
    assert get_topic(type(events[-1])) == f"{kind.__module__}:{kind.__name__}.Deleted"
    assert aggregate.is_deleted
    assert {key: getattr(aggregate, key) for key in cleared} == cleared
    with pytest.raises(error, match=f"^{re.escape(message.format(id=aggregate.id))}$") as caught:
        aggregate.delete()
    assert type(caught.value) is error and not aggregate.pending_events
    replayed = None
    for event in events:
        replayed = event.mutate(replayed)
    assert vars(replayed) == {**vars(aggregate), "_pending_events": []}


def test_each_kind_keeps_its_own_deleted_event_class() -> None:
    classes = [make().Deleted for make, *_ in KINDS]
    assert len(set(classes)) == len(KINDS)
