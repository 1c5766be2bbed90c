"""Offline playback (issue 17; docs/device-protocol.md): what a device caches to play
on without the server (`/api/zones/{zone_id}/horizon/`), and the plays it reports
when it is back (`/api/devices/{device_id}/plays/`)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal
from uuid import UUID

from fastapi import APIRouter, Request, Response
from pydantic import AwareDatetime, BaseModel, Field, StringConstraints

from application.commands import playback as cmd_playback
from application.horizon import HORIZON, upcoming_announcements, upcoming_tracks
from application.rules import ZONE_FOLLOW, Target
from domain.base import NotFound
from interfaces.http.deps import (
    CallerDep,
    CatalogDep,
    DispatcherDep,
    SchedulesDep,
    UrlsDep,
    WaitForPosition,
    ZonesDep,
    dispatch,
    rule_doc,
    set_position,
)
from interfaces.http.schemas import problem_responses
from projections.scheduling import spec_of_row

horizon_router = APIRouter(prefix="/api/zones", tags=["zones"])
plays_router = APIRouter(prefix="/api/devices", tags=["devices"])


class HorizonTrack(BaseModel):
    item_id: UUID
    title: str
    artist: str
    duration_ms: int
    media_key: str = Field(description="stable: the key a device caches the media under")
    content_type: str
    url: str = Field(description="signed, valid for MEDIA_URL_TTL_SECONDS: fetch it now")
    starts_at: datetime = Field(description="on the server clock, if nothing interrupts")
    queue_position: int


class HorizonAnnouncement(BaseModel):
    announcement_id: UUID
    title: str
    duration_ms: int
    media_key: str
    content_type: str
    url: str
    schedule_id: str
    at: datetime = Field(description="when the schedule fires it, on the server clock")
    slot: str


class HorizonOut(BaseModel):
    zone_id: UUID
    server_time: datetime
    until: datetime = Field(description="the horizon: what to play up to here is listed")
    play_seq: int
    tracks: list[HorizonTrack]
    announcements: list[HorizonAnnouncement]


@horizon_router.get(
    "/{zone_id}/horizon/", response_model=HorizonOut, responses=problem_responses(403, 404),
    summary="The next hour of a zone: its tracks and scheduled announcements, to cache",
    description="For devices to play on when they lose the server: the current track and "
    "those after it with the times they start, and the timed announcements the zone's "
    "schedules fire within the hour. Cache the media by `media_key` (the URLs' signatures "
    "expire; the keys do not).", openapi_extra=rule_doc(ZONE_FOLLOW))
def horizon(zone_id: UUID, caller: CallerDep, zones: ZonesDep, schedules: SchedulesDep,
            catalog: CatalogDep, urls: UrlsDep, wait: WaitForPosition = None) -> HorizonOut:
    row = zones.at(wait).get_zone(zone_id)
    if row is None:
        raise NotFound(f"zone {zone_id} not found")
    ZONE_FOLLOW.grant(caller, Target("zone", zone_id), row["client_id"])
    now, state = datetime.now(UTC), row["state"]
    specs = [spec_of_row(r) for r in schedules.view.active_schedules()]
    client_id = row["client_id"]
    announcements = upcoming_announcements(
        specs, zone_id, state.get("timezone") or "UTC", now,
        lambda ann_id: catalog.announcement_item(client_id, ann_id))
    return HorizonOut(
        zone_id=zone_id, server_time=now, until=now + HORIZON, play_seq=state["play_seq"],
        tracks=[HorizonTrack(**urls.signed(t)) for t in upcoming_tracks(state, row["queue"], now)],
        announcements=[HorizonAnnouncement(**urls.signed(a)) for a in announcements])


PlayId = Annotated[str, StringConstraints(min_length=1, max_length=100,
                                          pattern=r"^[A-Za-z0-9_.:-]+$")]


class ReportedPlay(BaseModel):
    play_id: PlayId = Field(description="the device's own id of this play: a play reported "
                            "twice is recorded once")
    kind: Literal["track", "announcement"]
    item_id: UUID = Field(description="the track's item_id or the announcement_id")
    title: Annotated[str, StringConstraints(max_length=500)]
    artist: Annotated[str, StringConstraints(max_length=500)] = ""
    duration_ms: Annotated[int, Field(ge=0)]
    schedule_id: Annotated[str | None, StringConstraints(max_length=100)] = None
    started_at: AwareDatetime = Field(description="on the server clock (the device's estimate)")
    ended_at: AwareDatetime
    end_reason: Literal["natural", "skipped", "interrupted", "stopped"]


class PlaysIn(BaseModel):
    zone_id: UUID = Field(description="the zone the device played for")
    plays: Annotated[list[ReportedPlay], Field(max_length=1000)]


class PlaysOut(BaseModel):
    received: int
    recorded: int = Field(description="new plays (the others were recorded already)")


@plays_router.post("/{device_id}/plays/", response_model=PlaysOut,
             responses=problem_responses(401, 403, 404, 422),
             summary="Report the plays the device made offline (idempotent per play_id)",
             description="Sent when the device reaches the server again. The plays go in "
             "proof of play as device-reported (`source: device`), replacing the zone's own "
             "record over their times.", openapi_extra=rule_doc(cmd_playback.ReportDevicePlays))
def report_plays(device_id: UUID, body: PlaysIn, request: Request, caller: CallerDep,
                 dispatcher: DispatcherDep, response: Response) -> PlaysOut:
    plays = tuple(p.model_dump() for p in body.plays)
    recorded, position = dispatch(request, dispatcher, caller, cmd_playback.ReportDevicePlays(
        body.zone_id, device_id, plays))
    set_position(response, position)
    return PlaysOut(received=len(plays), recorded=recorded)
