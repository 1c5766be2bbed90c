"""Auditors: a zone's history, its state at any past moment, and proof of play."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import APIRouter, Query, Request
from fastapi.responses import StreamingResponse
from pydantic import AwareDatetime, BaseModel, Field

from application.authz import Principal, tenant_filter, visible_row
from application.queries import (
    AccountReads,
    DeviceReads,
    HistoryReads,
    ReadModel,
    ScheduleReads,
    ZoneReads,
)
from application.rules import TENANT_READ
from application.services import ZoneTimeline
from domain.base import NotFound
from domain.live_state import zone_state
from interfaces.http.deps import (
    AccountsDep,
    DevicesDep,
    HistoryDep,
    PageDep,
    PrincipalDep,
    SchedulesDep,
    TimelineDep,
    UrlsDep,
    WaitForPosition,
    ZonesDep,
    paginated,
    rule_doc,
)
from interfaces.http.schemas import Page, problem_responses
from interfaces.http.zones import state_body

router = APIRouter(tags=["audit"])

Since = Annotated[AwareDatetime | None, Query(alias="from", description="ISO time, inclusive")]
Until = Annotated[AwareDatetime | None, Query(alias="to", description="ISO time, inclusive")]
CSV_PAGE = 5_000


class Actor(BaseModel):
    kind: str
    id: str
    name: str | None = Field(None, description="the user's name (else email), the device's "
                             "or the schedule's name; the system's role (e.g. clock); null "
                             "when it no longer exists or belongs to another client")


class HistoryEntry(BaseModel):
    version: int
    at: datetime
    type: str
    actor: Actor
    correlation_id: str
    summary: str
    reason: str | None = Field(None, description="why: how the previous item ended "
                               "(ended, skipped, previous, removed) or a schedule's rule "
                               "and outcome")
    track: str | None = Field(None, description="the title heard just after the event")
    track_kind: Literal["track", "announcement"] | None = None
    changes: dict[str, Any]


class Play(BaseModel):
    id: UUID
    zone_id: UUID
    kind: Literal["track", "announcement"]
    item_id: UUID
    title: str
    artist: str
    duration_ms: int
    schedule_id: str | None
    started_at: datetime
    ended_at: datetime | None
    end_reason: Literal["natural", "skipped", "interrupted", "stopped", "offline"] | None = Field(
        description="offline: from here a device that was offline reported what it played")
    played_seconds: float = Field(description="how long it was heard (so far, while it plays)")
    source: Literal["server", "device"] = Field(
        "server", description="server: the zone's live state; device: reported by the "
        "device after it played offline (docs/device-protocol.md)")
    device_id: UUID | None = Field(None, description="the reporting device (source device)")


def _zone_row(history: ReadModel[HistoryReads], zones: ReadModel[ZoneReads],
              principal: Principal, zone_id: UUID, wait: int | None) -> dict[str, Any]:
    """The zone's row if the principal may see it, once its history has applied `wait`."""
    history.wait(wait)
    return visible_row(principal, zones.view.get_zone(zone_id), "zone", zone_id)


@router.get("/api/zones/{zone_id}/history/", response_model=Page[HistoryEntry],
            responses=problem_responses(404), summary="A zone's events, oldest first",
            description="Each entry says when, who (user, device, schedule or system; with "
            "the request's correlation id) and what changed.",
            openapi_extra=rule_doc(TENANT_READ))
def history(zone_id: UUID, request: Request, principal: PrincipalDep, entries: HistoryDep,
            zones: ZonesDep, accounts: AccountsDep, devices: DevicesDep,
            schedules: SchedulesDep, page: PageDep, since: Since = None, until: Until = None,
            wait: WaitForPosition = None) -> dict[str, Any]:
    zone = _zone_row(entries, zones, principal, zone_id, wait)
    result = entries.view.list_entries(zone_id, since, until, page.offset, page.page_size)
    names = ActorNames(accounts.view, devices.view, schedules.view, zone["client_id"])
    found = [HistoryEntry(**r, actor=names.actor(r["actor_kind"], r["actor_id"]),
                          reason=reason_of(r["type"], r["changes"])) for r in result.rows]
    return paginated(request, page, result.count, found)


def reason_of(kind: str, changes: dict[str, Any]) -> str | None:
    if kind == "ScheduleDecided":
        return f"{changes.get('rule')}: {changes.get('outcome')}"
    reason = changes.get("reason")
    return reason if isinstance(reason, str) else None


class ActorNames:
    """Names of the actors of one zone's entries, looked up once each in today's read
    models (the events keep ids only). Another client's user, device or schedule (or
    one gone since) stays unnamed."""

    def __init__(self, accounts: AccountReads, devices: DeviceReads,
                 schedules: ScheduleReads, client_id: UUID) -> None:
        self._accounts, self._devices, self._schedules = accounts, devices, schedules
        self._client_id = client_id
        self._known: dict[tuple[str, str], str | None] = {}

    def actor(self, kind: str, actor_id: str) -> Actor:
        key = (kind, actor_id)
        if key not in self._known:
            self._known[key] = self._lookup(kind, actor_id)
        return Actor(kind=kind, id=actor_id, name=self._known[key])

    def _lookup(self, kind: str, actor_id: str) -> str | None:
        if kind == "system":
            return actor_id
        try:
            row_id = UUID(actor_id)
        except ValueError:
            return None
        row = self._row(kind, row_id)
        if row is None or row.get("client_id") != self._client_id:
            return None
        return str(row.get("name") or row.get("email") or "") or None

    def _row(self, kind: str, row_id: UUID) -> dict[str, Any] | None:
        if kind == "user":
            return self._accounts.get_user(row_id)
        if kind == "device":
            return self._devices.get(row_id)
        if kind == "schedule":
            return self._schedules.get_schedule(row_id)
        return None


def state_at(history: HistoryReads, timeline: ZoneTimeline, zone_id: UUID,
             at: datetime) -> dict[str, Any]:
    """The zone's playback state at `at`, rebuilt from its events."""
    version = history.version_at(zone_id, at)
    if version is None:
        raise NotFound(f"zone {zone_id} did not exist at {at.isoformat()}", "at")
    zone = timeline.zone_at(zone_id, version, at)
    return {**zone_state(zone), "at": at.isoformat(), "music_position_ms": zone.music_position(at),
            "is_deleted": zone.is_deleted}


@router.get("/api/zones/{zone_id}/state/", responses=problem_responses(404, 422),
            summary="A zone's playback state at a past moment (time travel)",
            description="What was playing, where in it, the volume and any announcement, "
            "exactly as the zone was at `at` (rebuilt from the stored events).",
            openapi_extra=rule_doc(TENANT_READ))
def state(zone_id: UUID, principal: PrincipalDep, history: HistoryDep, zones: ZonesDep,
          timeline: TimelineDep, urls: UrlsDep,
          at: Annotated[AwareDatetime, Query(description="ISO time with offset")],
          wait: WaitForPosition = None) -> dict[str, Any]:
    _zone_row(history, zones, principal, zone_id, wait)
    return state_body(state_at(history.view, timeline, zone_id, at), urls)


@router.get("/api/reports/plays/", response_model=Page[Play],
            responses={200: {"content": {"text/csv": {}}}, **problem_responses(404)},
            summary="Proof of play: every track and announcement actually played",
            description="Plays overlapping [from, to], oldest first, each with how it ended "
            "(natural, skipped, interrupted, stopped; none yet while it plays) and the "
            "schedule that caused it. `format=csv` returns every matching play as CSV.",
            openapi_extra=rule_doc(TENANT_READ))
def plays(request: Request, principal: PrincipalDep, history: HistoryDep, zones: ZonesDep,
          page: PageDep, zone_id: Annotated[UUID | None, Query()] = None, since: Since = None,
          until: Until = None, format: Literal["json", "csv"] = "json",  # noqa: A002
          wait: WaitForPosition = None) -> Any:
    history.wait(wait)
    if zone_id is not None:
        _zone_row(history, zones, principal, zone_id, None)
    query: dict[str, Any] = {"client_id": tenant_filter(principal), "zone_id": zone_id,
                             "since": since, "until": until}
    if format == "csv":
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        return StreamingResponse(
            _csv(history.view, query), media_type="text/csv",
            headers={"Content-Disposition": f'attachment; filename="plays-{stamp}.csv"'})
    result = history.view.list_plays(**query, offset=page.offset, limit=page.page_size)
    return paginated(request, page, result.count, [play_of(r) for r in result.rows])


def play_of(row: dict[str, Any]) -> Play:
    end = row["ended_at"] or datetime.now(UTC)
    played = max(0.0, (end - row["started_at"]).total_seconds())
    return Play(**row, played_seconds=round(played, 3))


def _csv(history: HistoryReads, query: dict[str, Any]) -> Iterator[str]:
    fields = list(Play.model_fields)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=fields)
    writer.writeheader()
    offset = 0
    while True:
        rows = history.list_plays(**query, offset=offset, limit=CSV_PAGE).rows
        for row in rows:
            writer.writerow(play_of(row).model_dump(mode="json"))
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        if len(rows) < CSV_PAGE:
            return
        offset += CSV_PAGE
