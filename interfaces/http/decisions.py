""""Why did this ad (not) air at 14:00?": a schedule's decisions per slot and zone, with
the reason recorded by the zone (Zone.ScheduleDecided, in the zone history) or, for a
slot the zone recorded nothing about, the reason derived from the schedule's rule."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import APIRouter, Query, Request
from pydantic import AwareDatetime, BaseModel, Field

from application.authz import visible_row
from application.queries import HistoryReads, ZoneReads
from application.rules import TENANT_READ
from domain.base import NotFound
from domain.schedule_engine import ScheduleSpec, ZoneFacts, evaluate
from interfaces.http.deps import (
    HistoryDep,
    PageDep,
    PrincipalDep,
    SchedulesDep,
    WaitForPosition,
    ZonesDep,
    paginated,
    rule_doc,
)
from interfaces.http.history import Since, Until
from interfaces.http.schemas import Page, problem_responses
from projections.scheduling import spec_of_row

router = APIRouter(tags=["audit"])

Outcome = Literal["played", "queued", "not_played", "stopped", "counted", "missed",
                  "skipped", "outside_window", "not_evaluated"]
SLOT = timedelta(minutes=1)  # `at` names the slot starting within this of it
ALWAYS = timedelta(days=3650)  # a grace that makes the engine name any past slot


class ScheduleDecision(BaseModel):
    zone_id: UUID
    zone_name: str | None
    schedule_id: UUID | None
    slot: str | None = Field(description="the slot as the zone recorded it")
    slot_at: datetime = Field(description="the slot's time (a music window's opening)")
    decided_at: datetime | None = Field(description="when the zone recorded the decision "
                                        "(null: derived, nothing was recorded)")
    action: str = Field(description="music, fallback, announce, missed, counted; "
                        "none for a derived answer")
    outcome: Outcome
    reason: str
    rule: str
    recorded: bool


@router.get(
    "/api/schedules/{schedule_id}/decisions/", response_model=Page[ScheduleDecision],
    responses=problem_responses(404),
    summary="Why a schedule's slot did (not) play: its decisions per zone, by slot",
    description="Each decision the schedule's zones recorded for its slots in [from, to] "
    "(or, with `at`, for the slot at that minute): played, queued behind another "
    "announcement, not played (and why), missed (evaluated too late: the scheduler or zone "
    "was offline), and, derived from the rules, music windows lost to a higher-priority "
    "schedule. With `at` and nothing recorded, the answer says whether `at` was outside the "
    "schedule's window or the slot was never evaluated.",
    openapi_extra=rule_doc(TENANT_READ))
def decisions(schedule_id: UUID, request: Request, principal: PrincipalDep,
              history: HistoryDep, zones: ZonesDep, schedules: SchedulesDep, page: PageDep,
              zone_id: Annotated[UUID | None, Query()] = None, since: Since = None,
              until: Until = None,
              at: Annotated[AwareDatetime | None, Query(description="a slot's time")] = None,
              wait: WaitForPosition = None) -> dict[str, Any]:
    entries = history.at(wait)
    row = visible_row(principal, schedules.view.get_schedule(schedule_id),
                      "schedule", schedule_id)
    rows = _zones(zones.view, row, zone_id)
    if at is not None:
        since, until = at - SLOT + timedelta(microseconds=1), at + SLOT - timedelta(microseconds=1)
    spec = spec_of_row(row)
    found = [_recorded(r, rows) for r in entries.list_decisions(
        list(rows), since, until, schedule_id=schedule_id)]
    if spec.kind == "music":
        found += _lost(entries, spec, rows, since, until)
    if at is not None:
        found += _unrecorded(spec, rows, at, {d.zone_id for d in found})
    found.sort(key=lambda d: (d.slot_at, str(d.zone_id)))
    return paginated(request, page, len(found),
                     found[page.offset:page.offset + page.page_size])


def _zones(zones_view: ZoneReads, row: dict[str, Any], zone_id: UUID | None
           ) -> dict[UUID, dict[str, Any]]:
    ids = [UUID(str(z)) for z in row["zone_ids"]]
    if zone_id is not None:
        if zone_id not in ids:
            raise NotFound(f"zone {zone_id} is not one of this schedule's zones")
        ids = [zone_id]
    zones = {z: zones_view.get_zone(z) for z in ids}
    return {z: r for z, r in zones.items() if r is not None}


def classify(action: str, outcome: str, detail: str) -> tuple[Outcome, str]:
    """The recorded outcome as one word, and the reason in a sentence."""
    if action == "missed":
        return "missed", f"missed: too late ({detail})" if detail else "missed: too late"
    if outcome.startswith("not played"):
        return "not_played", outcome
    if action == "counted":
        return "counted", detail or "counting tracks"
    if outcome.endswith("queued"):
        return "queued", f"{outcome} behind the announcement playing"
    if "stopped" in outcome:
        return "stopped", outcome
    return "played", f"{outcome} ({detail})" if detail else outcome


def _recorded(r: dict[str, Any], zones: dict[UUID, dict[str, Any]]) -> ScheduleDecision:
    c = r["changes"]
    outcome, reason = classify(c["action"], c.get("outcome", ""), c.get("detail", ""))
    return ScheduleDecision(
        zone_id=r["zone_id"], zone_name=zones[r["zone_id"]]["name"],
        schedule_id=c.get("schedule_id"), slot=c["slot"], slot_at=r["slot_at"],
        decided_at=r["at"], action=c["action"], outcome=outcome, reason=reason,
        rule=c.get("rule", ""), recorded=True)


def _open(spec: ScheduleSpec, zone: dict[str, Any], at: datetime) -> bool:
    """Whether the music schedule's window was open on the zone at `at`."""
    facts = ZoneFacts(zone_id=zone["id"], timezone=zone["timezone"])
    return at >= spec.active_since and any(
        d.schedule_id == spec.id for d in evaluate([spec], facts, at))


def _lost(history: HistoryReads, spec: ScheduleSpec, zones: dict[UUID, dict[str, Any]],
          since: datetime | None, until: datetime | None) -> list[ScheduleDecision]:
    """The windows another music schedule won while this one's was open: the engine
    picks one open window per zone, the highest ranked."""
    rivals = history.list_decisions(list(zones), since, until, action="music")
    return [ScheduleDecision(
        zone_id=r["zone_id"], zone_name=zones[r["zone_id"]]["name"], schedule_id=spec.id,
        slot=None, slot_at=r["slot_at"], decided_at=None, action="none", outcome="skipped",
        reason=f"skipped: higher priority: {r['changes'].get('rule')} played instead",
        rule=spec.describe(), recorded=False)
        for r in rivals if r["changes"].get("schedule_id") != str(spec.id)
        and _open(spec, zones[r["zone_id"]], r["slot_at"])]


def _unrecorded(spec: ScheduleSpec, zones: dict[UUID, dict[str, Any]], at: datetime,
                answered: set[UUID]) -> list[ScheduleDecision]:
    """For each zone with nothing about the slot at `at`: whether there was a slot."""
    out = []
    for zone_id, zone in zones.items():
        if zone_id in answered:
            continue
        facts = ZoneFacts(zone_id=zone_id, timezone=zone["timezone"])
        due = [d for d in evaluate([spec], facts, at + SLOT, ALWAYS) if d.schedule_id == spec.id]
        slot = due[0].at if due and spec.kind != "music" else None
        if spec.kind == "music" and due and _open(spec, zone, at):
            slot = at
        if slot is not None and abs(slot - at) < SLOT and slot >= spec.active_since:
            outcome: Outcome = "not_evaluated"
            reason = ("missed: nothing was recorded for this slot (the zone was deactivated "
                      "or offline, the schedule disabled, or the scheduler not running)")
        else:
            outcome, reason = "outside_window", f"outside window: {spec.describe()}"
        out.append(ScheduleDecision(
            zone_id=zone_id, zone_name=zone["name"], schedule_id=spec.id, slot=None,
            slot_at=at, decided_at=None, action="none", outcome=outcome, reason=reason,
            rule=spec.describe(), recorded=False))
    return out
