"""The Playback application: zones and what they play, commanded live."""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar
from uuid import UUID

from eventsourcing.application import Application
from eventsourcing.persistence import JSONTranscoder, Transcoding
from eventsourcing.utils import EnvType

from application.common import (
    SetAsList,
    last_position,
    open_roster,
    register_common_transcodings,
    retry_on_conflict,
    stored_roster,
)
from application.ports import Catalog
from application.versions import VersionedApplication
from application.zone_commands import Result as Result  # re-exported (command handlers)
from application.zone_commands import ZoneCommands
from domain.base import Actor, ActorKind, CommandContext, DomainError, NotFound, acting
from domain.device import DevicePlay, device_play_id
from domain.live_state import zone_state as zone_state  # re-exported (unit tests)
from domain.playback import AnnouncementItem, QueueItem, ZoneInactive
from domain.schedule_engine import GRACE, Decision, ScheduleSpec, evaluate
from domain.zone import Zone, ZoneRoster

ExistingZones = Callable[[UUID], Iterable[UUID]]  # a client's zones in the zones read model


class QueueItemAsDict(Transcoding):
    type = QueueItem
    name = "queue_item"

    def encode(self, obj: QueueItem) -> dict[str, Any]:
        return obj.as_dict()

    def decode(self, data: dict[str, Any]) -> QueueItem:
        return QueueItem.from_dict(data)


class AnnouncementItemAsDict(Transcoding):
    type = AnnouncementItem
    name = "announcement_item"

    def encode(self, obj: AnnouncementItem) -> dict[str, Any]:
        return obj.as_dict()

    def decode(self, data: dict[str, Any]) -> AnnouncementItem:
        return AnnouncementItem.from_dict(data)


class PlaybackApplication(ZoneCommands, VersionedApplication, Application[UUID]):
    name = "playback"
    snapshotting_intervals: ClassVar[dict[type[Any], int]] = {Zone: 100, ZoneRoster: 100}

    def __init__(
        self, env: EnvType | None = None, *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        rng: Callable[[], random.Random] = random.Random,
        existing_zones: ExistingZones = lambda _: (),
    ) -> None:
        super().__init__(env)
        self.clock = clock
        self._rng = rng
        self._existing_zones = existing_zones

    def register_transcodings(self, transcoder: JSONTranscoder) -> None:
        super().register_transcodings(transcoder)
        register_common_transcodings(transcoder)
        for transcoding in (QueueItemAsDict(), AnnouncementItemAsDict(), SetAsList()):
            transcoder.register(transcoding)

    # -- zones ---------------------------------------------------------------------

    @retry_on_conflict
    def create_zone(self, ctx: CommandContext, client_id: UUID, *,
                    max_zones: int | None = None, **fields: Any) -> Result:
        """A new zone, within the client's zone limit (None: no limit): the zone and
        its slot in the client's `ZoneRoster` are saved together."""
        with acting(ctx):
            zone = Zone.create(client_id=client_id, **fields)
            roster = self._zone_roster(client_id)
            roster.add(zone.id, max_zones)
        return zone, last_position(self.save(zone, roster))

    def change_zone(self, ctx: CommandContext, scope: UUID | None, zone_id: UUID,
                    **changes: Any) -> Result:
        return self.command_zone(ctx, scope, zone_id, lambda z: z.change(**changes), playing=False)

    def delete_zone(self, ctx: CommandContext, scope: UUID | None, zone_id: UUID) -> Result:
        """Delete a zone; its roster slot is free again, in the same save."""
        with self._zone_lock(zone_id):
            return self._delete_once(ctx, scope, zone_id)

    @retry_on_conflict
    def _delete_once(self, ctx: CommandContext, scope: UUID | None, zone_id: UUID) -> Result:
        zone = self.get_zone(zone_id, scope)
        # No roster yet: nothing to free (opening one later leaves deleted zones out).
        roster = stored_roster(self.repository, ZoneRoster, zone.client_id)
        touched: list[Any] = [zone]
        with acting(ctx):
            zone.tick(self.clock(), self._rng())
            zone.delete()
            if roster is not None and roster.remove(zone.id):
                touched.append(roster)
        return zone, last_position(self.save(*touched))

    def _zone_roster(self, client_id: UUID) -> ZoneRoster:
        """The client's zone roster, opened on first use (inside `acting`).

        Zones made before rosters existed are counted once, when the roster opens,
        from the zones read model as it stands: no waiting for it to catch up, so a
        zone it does not show yet goes uncounted (a one-time leniency). Zones it
        still shows though deleted are left out (checked in the event store)."""
        return open_roster(self.repository, ZoneRoster, client_id, lambda: [
            z for z in self._existing_zones(client_id) if self.zone_owner(z) == client_id])

    # -- playback commands -----------------------------------------------------------

    def play(self, ctx: CommandContext, scope: UUID | None, zone_id: UUID,
             items: list[QueueItem], *, shuffle: bool, source: dict[str, Any]) -> Result:
        return self.command_zone(ctx, scope, zone_id, lambda z: z.play(
            items, shuffle=shuffle, source=source, rng=self._rng(), now=self.clock()))

    def pause(self, ctx: CommandContext, scope: UUID | None, zone_id: UUID) -> Result:
        return self.command_zone(ctx, scope, zone_id, lambda z: z.pause(self.clock()))

    def resume(self, ctx: CommandContext, scope: UUID | None, zone_id: UUID) -> Result:
        return self.command_zone(ctx, scope, zone_id, lambda z: z.resume(self.clock()))

    def next(self, ctx: CommandContext, scope: UUID | None, zone_id: UUID) -> Result:
        return self.command_zone(ctx, scope, zone_id, lambda z: z.next(self.clock(), self._rng()))

    def previous(self, ctx: CommandContext, scope: UUID | None, zone_id: UUID) -> Result:
        return self.command_zone(ctx, scope, zone_id, lambda z: z.previous(self.clock()))

    def seek(self, ctx: CommandContext, scope: UUID | None, zone_id: UUID,
             position_ms: int) -> Result:
        return self.command_zone(ctx, scope, zone_id, lambda z: z.seek(position_ms, self.clock()))

    def set_volume(self, ctx: CommandContext, scope: UUID | None, zone_id: UUID,
                   volume: int) -> Result:
        return self.command_zone(ctx, scope, zone_id, lambda z: z.set_volume(volume), playing=False)

    def report_ended(self, ctx: CommandContext, scope: UUID | None, zone_id: UUID, *,
                     play_seq: int, queue_position: int | None) -> Result:
        return self.command_zone(ctx, scope, zone_id, lambda z: z.report_ended(
            play_seq=play_seq, queue_position=queue_position, now=self.clock(),
            rng=self._rng()), playing=False)

    def tick(self, ctx: CommandContext, zone_id: UUID) -> Result:
        """Advance the zone by the server clock (the ticker calls this)."""
        return self.command_zone(ctx, None, zone_id, lambda z: z.tick(self.clock(), self._rng()),
                        playing=False)

    @retry_on_conflict
    def play_announcement(self, ctx: CommandContext, scope: UUID | None,
                          zone_ids: Iterable[UUID], item: AnnouncementItem) -> list[Result]:
        """Interrupt several zones at once (all or none)."""
        zones = [self._playable_zone(zone_id, scope) for zone_id in dict.fromkeys(zone_ids)]
        now = self.clock()
        with acting(ctx):
            for zone in zones:
                zone.tick(now, self._rng())
                zone.play_announcement(item, now)
        position = last_position(self.save(*zones))
        return [(zone, position) for zone in zones]

    @retry_on_conflict
    def drop_tracks(self, ctx: CommandContext, zone_ids: Iterable[UUID],
                    track_ids: set[UUID]) -> int | None:
        """Tracks deleted from the library leave every queue they were in."""
        zones = []
        for zone_id in zone_ids:
            try:
                zones.append(self.get_zone(zone_id))
            except NotFound:
                continue
        with acting(ctx):
            for zone in zones:
                zone.drop_tracks(track_ids, self.clock(), self._rng())
        return last_position(self.save(*zones))

    def zone_at(self, zone_id: UUID, version: int, at: datetime) -> Zone:
        """The zone as it was at `at`: its state after event `version` (its last
        one by then), advanced by the clock to `at`. Nothing is saved."""
        zone: Any = self.repository.get(zone_id, version=version)
        assert isinstance(zone, Zone)
        with acting(CommandContext(Actor.system("time-travel"), "time-travel")):
            zone.tick(at, self._rng())
        return zone

    # -- schedules --------------------------------------------------------------------

    def apply_schedules(self, zone_id: UUID, specs: Sequence[ScheduleSpec], catalog: Catalog,
                        grace: timedelta = GRACE) -> Result | None:
        """Carry out what the schedules decide for the zone now. The zone records
        each decided slot, so running this again (or elsewhere) decides nothing new."""
        with self._zone_lock(zone_id):
            return self._apply_schedules(zone_id, specs, catalog, grace)

    @retry_on_conflict
    def _apply_schedules(self, zone_id: UUID, specs: Sequence[ScheduleSpec], catalog: Catalog,
                         grace: timedelta) -> Result | None:
        try:
            zone = self._playable_zone(zone_id, None)
        except (NotFound, ZoneInactive):
            return None
        now, correlation = self.clock(), f"schedule-{uuid.uuid4().hex}"
        with acting(CommandContext(Actor.system("clock"), correlation)):
            zone.tick(now, self._rng())
        decisions = evaluate(specs, zone.schedule_facts(), now, grace)
        by_id: dict[UUID | None, ScheduleSpec] = {spec.id: spec for spec in specs}
        for decision in decisions:
            actor = (Actor(ActorKind.SCHEDULE, str(decision.schedule_id))
                     if decision.schedule_id else Actor.system("schedule-fallback"))
            with acting(CommandContext(actor, correlation)):
                outcome = self._carry_out(zone, decision, by_id.get(decision.schedule_id),
                                          catalog, now)
                zone.record_decision(decision, outcome)
        if not decisions and not zone.pending_events:
            return None
        return zone, last_position(self.save(zone))

    def _carry_out(self, zone: Zone, decision: Decision, spec: ScheduleSpec | None,
                   catalog: Catalog, now: datetime) -> str:
        """Do what the decision says; the outcome says what came of it."""
        try:
            if decision.action == "music" and spec is not None:
                return self._scheduled_music(zone, spec.id, list(spec.folder_ids),
                                             spec.shuffle, catalog, now)
            if decision.action == "fallback":
                if zone.fallback_folder_ids:
                    return self._scheduled_music(zone, None, [UUID(f) for f in
                                                              zone.fallback_folder_ids],
                                                 zone.shuffle, catalog, now)
                zone.pause(now)
                return "music stopped (the zone has no fallback folders)"
            if decision.action == "announce" and spec and spec.announcement_id:
                item = catalog.announcement_item(zone.client_id, spec.announcement_id)
                queued = zone.announcement is not None
                zone.play_announcement(replace(item, schedule_id=str(spec.id)), now)
                return f"announcement {item.title!r} {'queued' if queued else 'started'}"
        except DomainError as exc:
            return f"not played: {exc.detail}"
        return decision.action

    def _scheduled_music(self, zone: Zone, schedule_id: UUID | None, folder_ids: list[UUID],
                         shuffle: bool, catalog: Catalog, now: datetime) -> str:
        items = catalog.queue_items(zone.client_id, folder_ids, [])
        source = {"schedule_id": str(schedule_id) if schedule_id else None,
                  "folder_ids": [str(f) for f in folder_ids], "track_ids": []}
        zone.play(items, shuffle=shuffle, source=source, rng=self._rng(), now=now)
        return f"playing {len(zone.queue)} tracks"

    @retry_on_conflict
    def record_device_plays(self, ctx: CommandContext, scope: UUID | None, zone_id: UUID,
                            device_id: UUID, plays: Sequence[Mapping[str, Any]]
                            ) -> tuple[int, int | None]:
        """Record the plays a device made offline (issue 17), each once: a play whose
        id is recorded already is skipped, so a repeated report records nothing new.
        Returns how many were new and the position of the last one."""
        zone = self.get_zone(zone_id, scope)
        fresh: dict[UUID, DevicePlay] = {}
        with acting(ctx):
            for play in plays:
                play_uuid = device_play_id(device_id, play["play_id"])
                if play_uuid in fresh or play_uuid in self.repository:
                    continue
                fresh[play_uuid] = DevicePlay.report(
                    now=self.clock(), zone_id=zone.id, client_id=zone.client_id,
                    device_id=device_id, **play)
        if not fresh:
            return 0, None
        return len(fresh), last_position(self.save(*fresh.values()))
