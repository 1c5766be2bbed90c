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
from application.playback import zone_state
from application.rules import TENANT_READ
from domain.base import NotFound
from infra.bootstrap import Container
from interfaces.http.deps import (
    ContainerDep,
    PageDep,
    PrincipalDep,
    WaitForPosition,
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


def _zone_row(container: Container, principal: Principal, zone_id: UUID,
              wait: int | None) -> dict[str, Any]:
    container.wait_for_history(wait)
    return visible_row(principal, container.zones_view.get_zone(zone_id), "zone", zone_id)


@router.get("/api/zones/{zone_id}/history/", response_model=Page[HistoryEntry],
            responses=problem_responses(404), summary="A zone's events, oldest first",
            description="Each entry says when, who (user, device, schedule or system; with "
            "the request's correlation id) and what changed.",
            openapi_extra=rule_doc(TENANT_READ))
def history(zone_id: UUID, request: Request, principal: PrincipalDep, container: ContainerDep,
            page: PageDep, since: Since = None, until: Until = None,
            wait: WaitForPosition = None) -> dict[str, Any]:
    zone = _zone_row(container, principal, zone_id, wait)
    result = container.history_view.list_entries(zone_id, since, until, page.offset,
                                                 page.page_size)
    names = ActorNames(container, zone["client_id"])
    entries = [HistoryEntry(**r, actor=names.actor(r["actor_kind"], r["actor_id"]),
                            reason=reason_of(r["type"], r["changes"])) for r in result.rows]
    return paginated(request, page, result.count, entries)


def reason_of(kind: str, changes: dict[str, Any]) -> str | None:
    if kind == "ScheduleDecided":
        return f"{changes.get('rule')}: {changes.get('outcome')}"
    reason = changes.get("reason")
    return reason if isinstance(reason, str) else None


class ActorNames:
    """Names of the actors of one zone's entries, looked up once each in today's read
    models (the events keep ids only). Another client's user, device or schedule (or
    one gone since) stays unnamed."""

    def __init__(self, container: Container, client_id: UUID) -> None:
        self._container, self._client_id = container, client_id
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
        c = self._container
        if kind == "user":
            return c.accounts_view.get_user(row_id)
        if kind == "device":
            return c.devices_view.get(row_id)
        if kind == "schedule":
            return c.schedules_view.get_schedule(row_id)
        return None


def state_at(container: Container, zone_id: UUID, at: datetime) -> dict[str, Any]:
    """The zone's playback state at `at`, rebuilt from its events."""
    version = container.history_view.version_at(zone_id, at)
    if version is None:
        raise NotFound(f"zone {zone_id} did not exist at {at.isoformat()}", "at")
    zone = container.playback.zone_at(zone_id, version, at)
    return {**zone_state(zone), "at": at.isoformat(), "music_position_ms": zone.music_position(at),
            "is_deleted": zone.is_deleted}


@router.get("/api/zones/{zone_id}/state/", responses=problem_responses(404, 422),
            summary="A zone's playback state at a past moment (time travel)",
            description="What was playing, where in it, the volume and any announcement, "
            "exactly as the zone was at `at` (rebuilt from the stored events).",
            openapi_extra=rule_doc(TENANT_READ))
def state(zone_id: UUID, principal: PrincipalDep, container: ContainerDep,
          at: Annotated[AwareDatetime, Query(description="ISO time with offset")],
          wait: WaitForPosition = None) -> dict[str, Any]:
    _zone_row(container, principal, zone_id, wait)
    return state_body(state_at(container, zone_id, at), container)


@router.get("/api/reports/plays/", response_model=Page[Play],
            responses={200: {"content": {"text/csv": {}}}, **problem_responses(404)},
            summary="Proof of play: every track and announcement actually played",
            description="Plays overlapping [from, to], oldest first, each with how it ended "
            "(natural, skipped, interrupted, stopped; none yet while it plays) and the "
            "schedule that caused it. `format=csv` returns every matching play as CSV.",
            openapi_extra=rule_doc(TENANT_READ))
def plays(request: Request, principal: PrincipalDep, container: ContainerDep, page: PageDep,
          zone_id: Annotated[UUID | None, Query()] = None, since: Since = None,
          until: Until = None, format: Literal["json", "csv"] = "json",  # noqa: A002
          wait: WaitForPosition = None) -> Any:
    container.wait_for_history(wait)
    if zone_id is not None:
        _zone_row(container, principal, zone_id, None)
    query: dict[str, Any] = {"client_id": tenant_filter(principal), "zone_id": zone_id,
                             "since": since, "until": until}
    if format == "csv":
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        return StreamingResponse(
            _csv(container, query), media_type="text/csv",
            headers={"Content-Disposition": f'attachment; filename="plays-{stamp}.csv"'})
    result = container.history_view.list_plays(**query, offset=page.offset,
                                               limit=page.page_size)
    return paginated(request, page, result.count, [play_of(r) for r in result.rows])


def play_of(row: dict[str, Any]) -> Play:
    end = row["ended_at"] or datetime.now(UTC)
    played = max(0.0, (end - row["started_at"]).total_seconds())
    return Play(**row, played_seconds=round(played, 3))


def _csv(container: Container, query: dict[str, Any]) -> Iterator[str]:
    fields = list(Play.model_fields)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=fields)
    writer.writeheader()
    offset = 0
    while True:
        rows = container.history_view.list_plays(
            **query, offset=offset, limit=CSV_PAGE).rows
        for row in rows:
            writer.writerow(play_of(row).model_dump(mode="json"))
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        if len(rows) < CSV_PAGE:
            return
        offset += CSV_PAGE
