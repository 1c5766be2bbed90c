"""The Scheduling application: schedules (what plays where, and when).

The schedule engine and the zones carry schedules out (see
`PlaybackApplication.apply_schedules`); this application only keeps the
schedules themselves, and checks that what they name belongs to the client.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from eventsourcing.application import Application
from eventsourcing.persistence import JSONTranscoder
from eventsourcing.utils import EnvType

from application.common import (
    SetAsList,
    last_position,
    load_live,
    open_roster,
    register_common_transcodings,
    retry_on_conflict,
    stored_roster,
)
from application.ports import Catalog
from application.versions import VersionedApplication
from domain.base import CommandContext, NotFound, acting
from domain.playback import AnnouncementNotReady
from domain.schedule import Schedule, ScheduleRoster
from domain.schedule_engine import ScheduleSpec

Result = tuple[Schedule, int | None]
ZoneOwner = Callable[[UUID], UUID | None]
ExistingSchedules = Callable[[UUID], Iterable[UUID]]  # a client's, in the schedules view


class SchedulingApplication(VersionedApplication, Application[UUID]):
    name = "scheduling"

    def __init__(self, env: EnvType | None = None, *, catalog: Catalog | None = None,
                 zone_owner: ZoneOwner | None = None,
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC),
                 existing_schedules: ExistingSchedules = lambda _: ()) -> None:
        super().__init__(env)
        self.catalog, self.zone_owner, self.clock = catalog, zone_owner, clock
        self._existing_schedules = existing_schedules

    def register_transcodings(self, transcoder: JSONTranscoder) -> None:
        super().register_transcodings(transcoder)
        register_common_transcodings(transcoder)
        transcoder.register(SetAsList())  # a roster's members, should it be snapshotted

    def get_schedule(self, schedule_id: UUID, client_id: UUID | None = None) -> Schedule:
        """The schedule; another client's (or a deleted) one is reported as absent."""
        return load_live(self.repository, schedule_id, Schedule, "schedule", client_id)

    @retry_on_conflict
    def create_schedule(self, ctx: CommandContext, client_id: UUID, rule: dict[str, Any],
                        is_active: bool = True, *, max_schedules: int | None = None) -> Result:
        """A new schedule, within the client's schedule limit (None: no limit): the
        schedule and its slot in the client's `ScheduleRoster` are saved together."""
        with acting(ctx):
            schedule = Schedule.create(client_id=client_id, rule=rule, is_active=is_active,
                                       now=self.clock(), created_by=ctx.user_id)
            self._check_references(client_id, schedule.rule)
            roster = self._roster(client_id)
            roster.add(schedule.id, max_schedules)
        return schedule, last_position(self.save(schedule, roster))

    @retry_on_conflict
    def change_schedule(self, ctx: CommandContext, scope: UUID | None, schedule_id: UUID,
                        is_active: bool | None = None, **changes: Any) -> Result:
        """Change the rule and/or enable or disable, all in one."""
        schedule = self.get_schedule(schedule_id, scope)
        with acting(ctx):
            if changes:
                schedule.change(**changes)
            if is_active is not None:
                schedule.set_active(is_active, self.clock())
        self._check_references(schedule.client_id, schedule.rule)
        return schedule, last_position(self.save(schedule))

    @retry_on_conflict
    def toggle(self, ctx: CommandContext, scope: UUID | None, schedule_id: UUID,
               is_active: bool | None = None) -> Result:
        """Enable or disable (flip when `is_active` is not given)."""
        schedule = self.get_schedule(schedule_id, scope)
        with acting(ctx):
            schedule.set_active(not schedule.is_active if is_active is None else is_active,
                                self.clock())
        return schedule, last_position(self.save(schedule))

    @retry_on_conflict
    def delete_schedule(self, ctx: CommandContext, scope: UUID | None,
                        schedule_id: UUID) -> Result:
        schedule = self.get_schedule(schedule_id, scope)
        # No roster yet: nothing to free (opening one later leaves deleted ones out).
        roster = stored_roster(self.repository, ScheduleRoster, schedule.client_id)
        touched: list[Any] = [schedule]
        with acting(ctx):
            schedule.delete()
            if roster is not None and roster.remove(schedule.id):
                touched.append(roster)
        return schedule, last_position(self.save(*touched))

    def _roster(self, client_id: UUID) -> ScheduleRoster:
        """The client's schedule roster, opened on first use (inside `acting`).

        Schedules made before rosters existed are counted once, when the roster
        opens, from the schedules read model as it stands: no waiting for it to
        catch up, so one it does not show yet goes uncounted (a one-time leniency).
        Ones it still shows though deleted are left out (checked in the event store)."""
        return open_roster(self.repository, ScheduleRoster, client_id, lambda: [
            s for s in self._existing_schedules(client_id) if self._is_live(s, client_id)])

    def _is_live(self, schedule_id: UUID, client_id: UUID) -> bool:
        try:
            self.get_schedule(schedule_id, client_id)
        except NotFound:
            return False
        return True

    def _check_references(self, client_id: UUID, rule: dict[str, Any]) -> None:
        """Zones, folders and the announcement must be the client's own."""
        if self.zone_owner is not None:
            for zone_id in rule["zone_ids"]:
                if self.zone_owner(UUID(zone_id)) != client_id:
                    raise NotFound(f"zone {zone_id} not found", "zone_ids")
        if self.catalog is None:
            return
        try:
            self.catalog.check_folders(client_id, [UUID(f) for f in rule["folder_ids"]])
        except NotFound as exc:
            raise NotFound(exc.detail, "folder_ids") from None
        if rule["announcement_id"]:
            try:
                self.catalog.announcement_item(client_id, UUID(rule["announcement_id"]))
            except AnnouncementNotReady:
                pass  # it may be ready by the time it plays; if not, the decision says so
            except NotFound as exc:
                raise NotFound(exc.detail, "announcement_id") from None


def spec_of(schedule: Schedule) -> ScheduleSpec:
    return ScheduleSpec.from_rule(schedule.id, schedule.rule, schedule.active_since)
