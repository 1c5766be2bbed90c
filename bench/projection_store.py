"""A realistic event store for the projection bench, made through the applications.

One client with a user who edits the profile now and then; a library of music
tracks in one folder (each uploaded, its quota reserved, tagged); zones that
play queues of that library and are then driven at random (skips, steps back,
volume, seeks, pauses, announcements, now and then a new queue); devices that
go online and offline. Aggregates are changed in memory and saved a few
hundred events at a time, as a busy system would write them.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from domain.base import Actor, CommandContext, acting
from domain.device import Device
from domain.folder import Folder, FolderType
from domain.playback import AnnouncementItem, QueueItem
from domain.quota import StorageQuota
from domain.track import Track
from domain.zone import Zone
from infra.bootstrap import Container

CTX = CommandContext(Actor.system("bench"), "bench-projections")
SAVE_EVERY = 300


@dataclass(frozen=True)
class Sizes:
    tracks: int
    zones: int
    queue: int  # tracks in each zone's queue
    zone_events: int
    device_events: int
    profile_events: int

    @classmethod
    def of(cls, quick: bool) -> Sizes:
        if quick:
            return cls(tracks=100, zones=8, queue=20, zone_events=1_500, device_events=300,
                       profile_events=200)
        return cls(tracks=2_000, zones=64, queue=100, zone_events=60_000,
                   device_events=5_000, profile_events=3_000)


def seed(container: Container, sizes: Sizes) -> dict[str, int]:
    """Fill the store; returns the events stored per application."""
    rng = random.Random(13)
    grant = container.accounts.signup(CTX, email=f"bench-{uuid.uuid4().hex[:8]}@example.com",
                                      password="a long bench password", name="Bench",
                                      client_name="Bench Ltd")
    client_id = grant.user.client_id
    assert client_id is not None
    items = _library(container, client_id, sizes.tracks, rng)
    zones = _zones(container, client_id, items, sizes, rng)
    _devices(container, client_id, zones, sizes.device_events, rng)
    _profiles(container, grant.user.id, sizes.profile_events)
    apps = (container.accounts, container.library, container.playback, container.devices,
            container.scheduling)
    return {app.name: app.recorder.max_notification_id() or 0 for app in apps}


def _library(container: Container, client_id: uuid.UUID, tracks: int,
             rng: random.Random) -> list[QueueItem]:
    app, items = container.library, []
    with acting(CTX):
        folder = Folder.create(client_id=client_id, type=FolderType.MUSIC, name="Music")
        quota = StorageQuota(client_id=client_id)
        app.save(folder, quota)
        batch: list[Any] = []
        for n in range(tracks):
            track = Track.upload(
                id=uuid.uuid4(), client_id=client_id, folder_id=folder.id,
                filename=f"song-{n}.mp3", file_size=4_000_000 + n, content_hash=f"{n:064x}",
                media_key=f"media/{n}.mp3", content_type="audio/mpeg", format="mp3",
                duration=180.0 + n % 120)
            quota.reserve(track.id, track.file_size, 10**15)
            folder.add(track.id)
            track.record_metadata(title=f"Song {n}", artist=f"Artist {n % 97}",
                                  album=f"Album {n % 31}", genre="Pop", year=1990 + n % 30,
                                  duration=track.duration, cover_key=None, thumbnail_key=None)
            items.append(QueueItem(track.id, int(track.duration * 1000), track.media_key,
                                   "audio/mpeg", track.title, track.artist))
            batch.append(track)
            if len(batch) * 4 >= SAVE_EVERY:
                app.save(quota, folder, *batch)
                batch = []
        app.save(quota, folder, *batch)
    rng.shuffle(items)
    return items


def _zones(container: Container, client_id: uuid.UUID, items: list[QueueItem], sizes: Sizes,
           rng: random.Random) -> list[Zone]:
    app, now = container.playback, datetime.now(UTC)
    ann = AnnouncementItem(uuid.uuid4(), 15_000, "media/ann.mp3", "audio/mpeg", "Closing")
    with acting(CTX):
        zones = [Zone.create(client_id=client_id, name=f"Zone {n}") for n in range(sizes.zones)]
        for zone in zones:
            zone.play(rng.sample(items, min(sizes.queue, len(items))), shuffle=True,
                      source={"folder_ids": []}, rng=rng, now=now)
        app.save(*zones)
        for done in range(0, sizes.zone_events, SAVE_EVERY):
            for _ in range(min(SAVE_EVERY, sizes.zone_events - done)):
                now += timedelta(milliseconds=200)
                _drive(rng.choice(zones), rng, now, items, ann, sizes.queue)
            app.save(*zones)
    return zones


def _drive(zone: Zone, rng: random.Random, now: datetime, items: list[QueueItem],
           ann: AnnouncementItem, queue: int) -> None:
    """One random command, as users, devices and the clock give them."""
    pick = rng.randrange(100)
    if zone.announcement is not None and pick < 50:
        zone.report_ended(play_seq=zone.play_seq, queue_position=None, now=now, rng=rng)
    elif pick < 35:
        zone.next(now, rng)
    elif pick < 45:
        zone.previous(now)
    elif pick < 65:
        zone.set_volume(rng.choice([v for v in (20, 40, 60, 80) if v != zone.volume]))
    elif pick < 80 and zone.current is not None:
        zone.seek(rng.randrange(zone.current.duration_ms), now)
    elif pick < 90:
        (zone.pause if zone.music_playing else zone.resume)(now)
    elif pick < 98:
        zone.play_announcement(ann, now)
    else:
        zone.play(rng.sample(items, min(queue, len(items))), shuffle=True,
                  source={"folder_ids": []}, rng=rng, now=now)


def _devices(container: Container, client_id: uuid.UUID, zones: list[Zone], events: int,
             rng: random.Random) -> None:
    app, at = container.devices, datetime.now(UTC)
    with acting(CTX):
        devices = [Device.register(client_id=client_id, zone_id=zones[n % len(zones)].id,
                                   hardware_id=f"hw-{uuid.uuid4().hex[:12]}", name=f"Speaker {n}",
                                   device_type="web", model="", firmware_version="")
                   for n in range(20)]
        app.save(*devices)
        flip_presence(container, devices, events, SAVE_EVERY, rng, at)


def flip_presence(container: Container, devices: list[Device], events: int, every: int,
                  rng: random.Random, at: datetime) -> None:
    """`events` presence changes (online <-> offline, a second apart) of devices picked
    at random, saved `every` changes (inside the caller's `acting`)."""
    for done in range(0, events, every):
        for n in range(min(every, events - done)):
            device, at = rng.choice(devices), at + timedelta(seconds=1)
            if device.is_online:
                device.go_offline(at)
            else:
                device.go_online(f"10.0.0.{n % 250}", at)
        container.devices.save(*devices)


def _profiles(container: Container, user_id: uuid.UUID, events: int) -> None:
    app = container.accounts
    user = app.get_user(user_id)
    with acting(CTX):
        for done in range(0, events, SAVE_EVERY):
            for n in range(done, min(done + SAVE_EVERY, events)):
                user.update_profile(phone=f"+1555{n:07d}")
            app.save(user)
