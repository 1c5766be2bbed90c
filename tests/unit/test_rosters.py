"""Rosters: a client's zones and schedules counted by an aggregate, never a view.

Examples of the generic `Roster` through its two kinds (`ZoneRoster`,
`ScheduleRoster`), the applications saving a roster with what it admits and
freeing the slot on delete, the one-time count of what a client had before its
roster, and a state machine whose invariants include "replaying the stored
events gives the same state".
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import pytest
from eventsourcing.application import Application
from eventsourcing.utils import get_topic
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from application.common import SetAsList
from application.playback import PlaybackApplication
from application.scheduling import SchedulingApplication
from domain.base import Actor, ActorKind, CommandContext, acting
from domain.plan import PlanLimitReached
from domain.roster import Roster
from domain.schedule import Schedule, ScheduleRoster, schedule_roster_id
from domain.zone import Zone, ZoneRoster, zone_roster_id

CTX = CommandContext(Actor(ActorKind.USER, str(uuid.uuid4())), "req-roster")
CLIENT = uuid.uuid4()
T0 = datetime(2025, 6, 1, 9, 0, tzinfo=UTC)
KINDS = [ZoneRoster, ScheduleRoster]


def opened(kind: type[Roster], members: list[UUID] | None = None) -> Any:
    with acting(CTX):
        return kind(client_id=CLIENT, member_ids=members or [])


def replayed(roster: Roster) -> Any:
    folded: Any = None
    for e in roster.collect_events():
        folded = e.mutate(folded)
    return folded


@pytest.mark.parametrize("kind", KINDS)
def test_a_roster_refuses_one_more_at_the_limit_and_add_is_idempotent(kind: type[Roster]
                                                                       ) -> None:
    roster, a, b = opened(kind), uuid.uuid4(), uuid.uuid4()
    with acting(CTX):
        assert roster.add(a, 1)
        assert not roster.add(a, 1)  # already there: no new slot needed
        with pytest.raises(PlanLimitReached, match=r"limit of this plan reached: 1 of 1"):
            roster.add(b, 1)
    assert roster.member_ids == {a} and roster.version == 2


def test_the_message_names_what_the_plan_limits() -> None:
    with acting(CTX), pytest.raises(PlanLimitReached) as refused:
        opened(ZoneRoster, [uuid.uuid4() for _ in range(10)]).add(uuid.uuid4(), 10)
    assert str(refused.value).startswith("zone limit of this plan reached: 10 of 10")
    with acting(CTX), pytest.raises(PlanLimitReached, match="^schedule limit"):
        opened(ScheduleRoster).add(uuid.uuid4(), 0)


@pytest.mark.parametrize("kind", KINDS)
def test_removing_a_member_frees_its_slot(kind: type[Roster]) -> None:
    roster, a, b = opened(kind), uuid.uuid4(), uuid.uuid4()
    with acting(CTX):
        roster.add(a, 1)
        assert roster.remove(a)
        assert not roster.remove(a)  # held no slot any more
        assert roster.add(b, 1)
    assert roster.member_ids == {b}


@pytest.mark.parametrize("kind", KINDS)
def test_replaying_a_rosters_events_gives_the_same_members(kind: type[Roster]) -> None:
    before = [uuid.uuid4(), uuid.uuid4()]
    roster, a = opened(kind, before), uuid.uuid4()
    with acting(CTX):
        roster.add(a, None)  # None: no limit
        roster.remove(before[0])
    copy = replayed(roster)
    assert type(copy) is kind
    assert (copy.member_ids, copy.version) == ({before[1], a}, 3)


def test_each_kind_stores_topics_of_its_own_and_the_base_is_never_stored() -> None:
    zone, schedule = opened(ZoneRoster), opened(ScheduleRoster)
    with acting(CTX):
        zone.add(uuid.uuid4(), 1)
        schedule.add(uuid.uuid4(), 1)
    assert [get_topic(type(e)) for e in zone.pending_events] == [
        "domain.zone:ZoneRoster.Opened", "domain.zone:ZoneRoster.Added"]
    assert [get_topic(type(e)) for e in schedule.pending_events] == [
        "domain.schedule:ScheduleRoster.Opened", "domain.schedule:ScheduleRoster.Added"]
    assert (zone.id, schedule.id) == (zone_roster_id(CLIENT), schedule_roster_id(CLIENT))
    assert zone.id != schedule.id
    with pytest.raises(TypeError), acting(CTX):
        Roster(client_id=CLIENT, member_ids=[])


# -- the applications ---------------------------------------------------------------------

def test_a_zone_and_its_roster_slot_are_saved_together_and_deleting_frees_it() -> None:
    app = PlaybackApplication()
    first, _ = app.create_zone(CTX, CLIENT, max_zones=1, name="Floor")
    with pytest.raises(PlanLimitReached):
        app.create_zone(CTX, CLIENT, max_zones=1, name="Bar")
    app.delete_zone(CTX, CLIENT, first.id)
    second, _ = app.create_zone(CTX, CLIENT, max_zones=1, name="Bar")
    roster: Any = app.repository.get(zone_roster_id(CLIENT))
    assert roster.member_ids == {second.id}


def test_zones_from_before_rosters_are_counted_once_from_the_read_model() -> None:
    """The read model's ids seed the roster when it opens, deleted zones and other
    clients' left out; after that it is never asked again."""
    asked: list[UUID] = []
    app = PlaybackApplication(existing_zones=lambda cid: asked.append(cid) or view)
    with acting(CTX):  # a store from before rosters: zones without a roster's stream
        old, gone = Zone.create(client_id=CLIENT, name="Old"), Zone.create(
            client_id=CLIENT, name="Gone")
        gone.delete()  # the view may still show it
        theirs = Zone.create(client_id=uuid.uuid4(), name="Theirs")
    app.save(old, gone, theirs)
    view = [old.id, gone.id, theirs.id]

    new, _ = app.create_zone(CTX, CLIENT, max_zones=3, name="New")
    again, _ = app.create_zone(CTX, CLIENT, max_zones=3, name="Again")
    with pytest.raises(PlanLimitReached, match="3 of 3"):
        app.create_zone(CTX, CLIENT, max_zones=3, name="One too many")

    assert asked == [CLIENT]
    roster: Any = app.repository.get(zone_roster_id(CLIENT))
    assert roster.member_ids == {old.id, new.id, again.id}


def schedule_rule(name: str = "Morning") -> dict[str, Any]:
    return {"name": name, "type": "music", "mode": "timeline", "folder_ids": [str(uuid.uuid4())],
            "start_time": "09:00:00", "end_time": "12:00:00", "zone_ids": [str(uuid.uuid4())]}


def test_a_schedule_takes_a_roster_slot_and_deleting_frees_it() -> None:
    asked: list[UUID] = []
    app = SchedulingApplication(existing_schedules=lambda cid: asked.append(cid) or [])
    first, _ = app.create_schedule(CTX, CLIENT, schedule_rule(), max_schedules=1)
    with pytest.raises(PlanLimitReached, match="^schedule limit of this plan reached: 1 of 1"):
        app.create_schedule(CTX, CLIENT, schedule_rule("Evening"), max_schedules=1)
    app.delete_schedule(CTX, CLIENT, first.id)
    second, _ = app.create_schedule(CTX, CLIENT, schedule_rule("Evening"), max_schedules=1)
    roster: Any = app.repository.get(schedule_roster_id(CLIENT))
    assert (roster.member_ids, asked) == ({second.id}, [CLIENT])


def test_schedules_from_before_rosters_are_counted_once_deleted_ones_left_out() -> None:
    fresh = SchedulingApplication(existing_schedules=lambda _: [kept.id, gone.id])
    with acting(CTX):  # a store from before rosters: schedules without a roster's stream
        kept, gone = (Schedule.create(client_id=CLIENT, rule=schedule_rule(name),
                                      is_active=True, now=T0) for name in ("Kept", "Gone"))
    fresh.save(kept, gone)
    fresh.delete_schedule(CTX, CLIENT, gone.id)  # before any roster: nothing to free
    new, _ = fresh.create_schedule(CTX, CLIENT, schedule_rule("New"), max_schedules=2)
    with pytest.raises(PlanLimitReached, match="2 of 2"):
        fresh.create_schedule(CTX, CLIENT, schedule_rule("Third"), max_schedules=2)
    roster: Any = fresh.repository.get(schedule_roster_id(CLIENT))
    assert roster.member_ids == {kept.id, new.id}


# -- state machine -------------------------------------------------------------------------

POOL = [uuid.uuid4() for _ in range(8)]


class RosterStore(Application[UUID]):
    def register_transcodings(self, transcoder: Any) -> None:
        super().register_transcodings(transcoder)
        transcoder.register(SetAsList())


class RosterMachine(RuleBasedStateMachine):
    """Either kind, through every command; saved after each, and replayed."""

    @initialize(kind=st.sampled_from(KINDS), before=st.sets(st.sampled_from(POOL), max_size=3),
                limit=st.integers(min_value=0, max_value=6))
    def open(self, kind: type[Roster], before: set[UUID], limit: int) -> None:
        self.app, self.limit = RosterStore(), limit
        self.roster: Any = opened(kind, sorted(before, key=str))
        self.expected = set(before)
        self.app.save(self.roster)

    @rule(member=st.sampled_from(POOL), lowered=st.integers(min_value=0, max_value=2))
    def add(self, member: UUID, lowered: int) -> None:
        """Usually at the client's limit; sometimes at a lower one (a changed plan)."""
        limit, version = self.limit - lowered, self.roster.version
        with acting(CTX):
            if member not in self.expected and len(self.expected) >= limit:
                with pytest.raises(PlanLimitReached):
                    self.roster.add(member, limit)
                assert self.roster.version == version
                return
            assert self.roster.add(member, limit) == (member not in self.expected)
        self.expected.add(member)
        self.app.save(self.roster)

    @rule(member=st.sampled_from(POOL))
    def remove(self, member: UUID) -> None:
        with acting(CTX):
            assert self.roster.remove(member) == (member in self.expected)
        self.expected.discard(member)
        self.app.save(self.roster)

    @invariant()
    def members_are_as_expected(self) -> None:
        assert self.roster.member_ids == self.expected

    @invariant()
    def loading_and_replaying_give_the_same_state(self) -> None:
        stored = self.app.repository.get(self.roster.id)
        folded: Any = None
        for e in self.app.events.get(self.roster.id):
            folded = e.mutate(folded)
        for copy in (stored, folded):
            assert type(copy) is type(self.roster)
            assert (copy.member_ids, copy.version) == (self.expected, self.roster.version)


TestRosterCommandsReplayFaithfully = RosterMachine.TestCase
TestRosterCommandsReplayFaithfully.settings = settings(max_examples=60,
                                                       stateful_step_count=30, deadline=None)
