"""Zones and their playback: what dashboards, devices and schedules command."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any
from uuid import UUID

from application.authz import DevicePrincipal, PermissionDenied
from application.dispatch import Command, Handler
from application.playback import PlaybackApplication, Result
from application.ports import Catalog
from application.rules import CLIENT_MEMBER, SYSTEM, TENANT_WRITE, ZONE_CONTROL, Grant
from domain.base import CommandContext
from domain.schedule_engine import GRACE, ScheduleSpec


@dataclass(frozen=True)
class CreateZone(Command[Result]):
    rule = CLIENT_MEMBER
    name: str
    description: str = ""
    default_volume: int = 70
    timezone: str = "UTC"


@dataclass(frozen=True)
class ChangeZone(Command[Result]):
    rule, target_kind = TENANT_WRITE, "zone"
    zone_id: UUID
    changes: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class DeleteZone(Command[Result]):
    rule, target_kind = TENANT_WRITE, "zone"
    zone_id: UUID


@dataclass(frozen=True)
class ZoneCommand(Command[Result]):
    """A live command on one zone: its client's users, admins, its devices."""

    rule, target_kind = ZONE_CONTROL, "zone"
    zone_id: UUID


@dataclass(frozen=True)
class Play(ZoneCommand):
    folder_ids: tuple[UUID, ...] = ()
    track_ids: tuple[UUID, ...] = ()
    shuffle: bool = False


@dataclass(frozen=True)
class Pause(ZoneCommand):
    message = "pause"


@dataclass(frozen=True)
class Resume(ZoneCommand):
    message = "resume"


@dataclass(frozen=True)
class Next(ZoneCommand):
    message = "next"


@dataclass(frozen=True)
class Previous(ZoneCommand):
    message = "previous"


@dataclass(frozen=True)
class Restart(ZoneCommand):
    message = "restart"


@dataclass(frozen=True)
class SetVolume(ZoneCommand):
    message = "volume"
    volume: int


@dataclass(frozen=True)
class Seek(ZoneCommand):
    message = "seek"
    position_ms: int


@dataclass(frozen=True)
class ReportEnded(ZoneCommand):
    """A device heard the item of `play_seq` end (idempotent per play)."""

    message = "ended"
    play_seq: int
    queue_position: int | None = None


@dataclass(frozen=True)
class ReportDevicePlays(Command[tuple[int, int | None]]):
    """A device reports the plays it made while offline (idempotent per play id);
    a device token reports only for itself."""

    rule, target_kind = ZONE_CONTROL, "zone"
    while_lapsed = True  # a lapsed client's devices keep playing, and their plays count
    zone_id: UUID
    device_id: UUID
    plays: tuple[dict[str, Any], ...] = ()


@dataclass(frozen=True)
class TickZone(Command[Result]):
    """The clock: advance the zone past the items that ended by now."""

    rule = SYSTEM
    zone_id: UUID


@dataclass(frozen=True)
class ApplySchedules(Command[Result | None]):
    """The scheduler: carry out what these schedules decide for the zone now."""

    rule = SYSTEM
    zone_id: UUID
    specs: tuple[ScheduleSpec, ...]
    grace: timedelta = GRACE


# (client, limit name) -> the client's limit in force (`Plans.limit`)
Limit = Callable[[UUID, str], int]


def handlers(playback: PlaybackApplication, catalog: Catalog,
             limit: Limit) -> list[tuple[type[Any], Handler]]:
    def simple(method: Callable[[CommandContext, UUID | None, UUID], Result]) -> Handler:
        return lambda c, g, ctx: method(ctx, g.scope, c.zone_id)

    def create(c: CreateZone, g: Grant, ctx: CommandContext) -> Result:
        assert g.scope is not None  # CLIENT_MEMBER: the caller's client
        return playback.create_zone(ctx, g.scope, max_zones=limit(g.scope, "max_zones"),
                                    name=c.name, description=c.description,
                                    default_volume=c.default_volume, timezone=c.timezone)

    def report_plays(c: ReportDevicePlays, g: Grant, ctx: CommandContext
                     ) -> tuple[int, int | None]:
        if isinstance(g.caller, DevicePrincipal) and g.caller.device_id != c.device_id:
            raise PermissionDenied("a device token only reports its own device's plays")
        return playback.record_device_plays(ctx, g.scope, c.zone_id, c.device_id, c.plays)

    def change(c: ChangeZone, g: Grant, ctx: CommandContext) -> Result:
        if c.changes.get("fallback_folder_ids"):  # the zone's client's own folders only
            assert g.owner is not None
            catalog.check_folders(g.owner, c.changes["fallback_folder_ids"])
        return playback.change_zone(ctx, g.scope, c.zone_id, **c.changes)

    def play(c: Play, g: Grant, ctx: CommandContext) -> Result:
        assert g.owner is not None
        items = catalog.queue_items(g.owner, c.folder_ids, c.track_ids)
        source = {"folder_ids": [str(f) for f in c.folder_ids],
                  "track_ids": [str(t) for t in c.track_ids]}
        return playback.play(ctx, g.scope, c.zone_id, items, shuffle=c.shuffle, source=source)

    return [
        (CreateZone, create),
        (ChangeZone, change),
        (DeleteZone, simple(playback.delete_zone)),
        (Play, play),
        (Pause, simple(playback.pause)),
        (Resume, simple(playback.resume)),
        (Next, simple(playback.next)),
        (Previous, simple(playback.previous)),
        (Restart, lambda c, g, ctx: playback.command_zone(
            ctx, g.scope, c.zone_id, lambda zone: zone.restart(playback.clock()))),
        (SetVolume, lambda c, g, ctx: playback.set_volume(ctx, g.scope, c.zone_id, c.volume)),
        (Seek, lambda c, g, ctx: playback.seek(ctx, g.scope, c.zone_id, c.position_ms)),
        (ReportEnded, lambda c, g, ctx: playback.report_ended(
            ctx, g.scope, c.zone_id, play_seq=c.play_seq, queue_position=c.queue_position)),
        (TickZone, lambda c, g, ctx: playback.tick(ctx, c.zone_id)),
        (ReportDevicePlays, report_plays),
        (ApplySchedules, lambda c, g, ctx: playback.apply_schedules(
            c.zone_id, c.specs, catalog, c.grace)),
    ]
