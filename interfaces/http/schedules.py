"""`/api/schedules/`: what plays where and when (timeline windows and intervals)."""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel, Field, StringConstraints

from application.authz import tenant_filter, visible_row
from application.commands import schedules as cmd
from application.rules import TENANT_READ
from domain.schedule import (
    MAX_PRIORITY,
    InvalidSchedule,
    Schedule,
    check_content_type,
    content_type_of,
)
from interfaces.http.deps import (
    CallerDep,
    DispatcherDep,
    PageDep,
    PrincipalDep,
    SchedulesDep,
    WaitForPosition,
    dispatch,
    paginated,
    rule_doc,
    set_position,
)
from interfaces.http.schemas import ONE_LINE, ONE_LINE_CHECK, Page, problem_responses
from projections.scheduling import schedule_row

router = APIRouter(prefix="/api/schedules", tags=["schedules"])

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=255,
                                        pattern=ONE_LINE), ONE_LINE_CHECK]
Day = Annotated[int, Field(ge=0, le=6)]
Priority = Annotated[int, Field(ge=-MAX_PRIORITY, le=MAX_PRIORITY)]
ClockTime = Annotated[str, Field(pattern=r"^\d{2}:\d{2}:\d{2}$", examples=["08:30:00"],
                                 description="zone-local wall-clock time")]
NOT_NULL = ("name", "type", "mode", "folder_ids", "shuffle", "days_of_week", "zone_ids",
            "priority")


class ScheduleIn(BaseModel):
    name: Name
    type: Literal["music", "announcement"] = Field(
        description="music plays folders; announcement plays one announcement")
    content_type: Literal["folder", "announcement"] | None = Field(
        None, description="the seed's name for what `type` plays (music: folder, "
        "announcement: announcement); optional, must match `type` when given")
    mode: Literal["timeline", "interval"] = Field(
        "timeline", description="timeline: a start–end window (music), or once at start_time "
        "(announcement); interval: every N minutes or after every N music tracks")
    folder_ids: list[UUID] = Field(default_factory=list, description="music: folders, in order")
    shuffle: bool = False
    announcement_id: UUID | None = None
    start_time: time | None = Field(None, description="zone-local time; overnight windows "
                                    "(end before start) end the next day")
    end_time: time | None = None
    interval_type: Literal["time", "tracks"] | None = None
    interval_minutes: Annotated[int | None, Field(ge=1, le=1440)] = None
    interval_tracks: Annotated[int | None, Field(ge=1, le=1000)] = None
    days_of_week: list[Day] = Field(default_factory=list,
                                    description="0 = Monday … 6 = Sunday; empty = every day")
    date_from: date | None = None
    date_to: date | None = None
    zone_ids: list[UUID] = Field(min_length=1)
    priority: Priority = Field(0, description="higher wins when windows overlap")
    is_active: bool = True


class SchedulePatch(BaseModel):
    """Only the fields given change; null clears an optional field."""

    name: Name | None = None
    type: Literal["music", "announcement"] | None = None
    mode: Literal["timeline", "interval"] | None = None
    folder_ids: list[UUID] | None = None
    shuffle: bool | None = None
    announcement_id: UUID | None = None
    start_time: time | None = None
    end_time: time | None = None
    interval_type: Literal["time", "tracks"] | None = None
    interval_minutes: Annotated[int | None, Field(ge=1, le=1440)] = None
    interval_tracks: Annotated[int | None, Field(ge=1, le=1000)] = None
    days_of_week: list[Day] | None = None
    date_from: date | None = None
    date_to: date | None = None
    zone_ids: Annotated[list[UUID] | None, Field(min_length=1)] = None
    priority: Priority | None = None
    is_active: bool | None = None


class ScheduleOut(BaseModel):
    id: UUID
    client_id: UUID
    name: str
    type: str
    content_type: str = Field(description="folder (music) or announcement, from `type`")
    mode: str
    folder_ids: list[UUID]
    shuffle: bool
    announcement_id: UUID | None
    start_time: ClockTime | None
    end_time: ClockTime | None
    interval_type: str | None
    interval_minutes: int | None
    interval_tracks: int | None
    days_of_week: list[int]
    date_from: date | None
    date_to: date | None
    zone_ids: list[UUID]
    priority: int
    is_active: bool
    active_since: datetime = Field(description="slots before this instant never fire")
    created_by: UUID | None = Field(None, description="the user who created it")
    created_at: datetime
    updated_at: datetime


class ToggleIn(BaseModel):
    is_active: bool | None = Field(None, description="omit to flip")


def _out(row: dict[str, Any]) -> ScheduleOut:
    return ScheduleOut.model_validate({
        **row["rule"], "content_type": content_type_of(row["rule"]["type"]),
        **{k: v for k, v in row.items() if k != "rule"}})


def _answer(response: Response, result: tuple[Schedule, int | None]) -> ScheduleOut:
    schedule, position = result
    set_position(response, position)
    return _out(schedule_row(schedule))


def _rule(fields: dict[str, Any]) -> dict[str, Any]:
    """Ids and times as the domain stores them (strings)."""
    return {k: [str(i) for i in v] if k in ("folder_ids", "zone_ids") else
            str(v) if k == "announcement_id" and v is not None else v
            for k, v in fields.items()}


@router.get("/", response_model=Page[ScheduleOut], summary="List schedules",
            description="Highest priority first, then by name.",
            openapi_extra=rule_doc(TENANT_READ))
def list_schedules(
    request: Request, principal: PrincipalDep, schedules: SchedulesDep, page: PageDep,
    zone_id: Annotated[UUID | None, Query(description="only schedules of this zone")] = None,
    type: Annotated[Literal["music", "announcement"] | None, Query()] = None,  # noqa: A002
    is_active: Annotated[bool | None, Query()] = None, wait: WaitForPosition = None,
) -> dict[str, Any]:
    result = schedules.at(wait).list_schedules(
        client_id=tenant_filter(principal), zone_id=zone_id, type=type, is_active=is_active,
        offset=page.offset, limit=page.page_size)
    return paginated(request, page, result.count, [_out(r) for r in result.rows])


@router.post("/", status_code=201, response_model=ScheduleOut, summary="Create a schedule",
             responses=problem_responses(403, 404, 422),
             openapi_extra=rule_doc(cmd.CreateSchedule))
def create_schedule(body: ScheduleIn, request: Request, caller: CallerDep,
                    dispatcher: DispatcherDep, response: Response) -> ScheduleOut:
    check_content_type(body.type, body.content_type)
    fields = body.model_dump(exclude={"is_active", "content_type"})
    return _answer(response, dispatch(request, dispatcher, caller, cmd.CreateSchedule(
        _rule(fields), body.is_active)))


@router.get("/{schedule_id}/", response_model=ScheduleOut, summary="One schedule",
            responses=problem_responses(404), openapi_extra=rule_doc(TENANT_READ))
def get_schedule(schedule_id: UUID, principal: PrincipalDep, schedules: SchedulesDep,
                 wait: WaitForPosition = None) -> ScheduleOut:
    row = schedules.at(wait).get_schedule(schedule_id)
    return _out(visible_row(principal, row, "schedule", schedule_id))


@router.patch("/{schedule_id}/", response_model=ScheduleOut, summary="Change a schedule",
              responses=problem_responses(403, 404, 422),
              openapi_extra=rule_doc(cmd.ChangeSchedule))
def update_schedule(schedule_id: UUID, body: SchedulePatch, request: Request,
                    caller: CallerDep, dispatcher: DispatcherDep, response: Response
                    ) -> ScheduleOut:
    changes = body.model_dump(exclude_unset=True)
    is_active = changes.pop("is_active", None)
    for name in NOT_NULL:
        if name in changes and changes[name] is None:
            raise InvalidSchedule(f"{name} cannot be null (leave it out to keep it)", name)
    return _answer(response, dispatch(request, dispatcher, caller, cmd.ChangeSchedule(
        schedule_id, _rule(changes), is_active)))


@router.delete("/{schedule_id}/", status_code=204, response_class=Response,
               summary="Delete a schedule", responses=problem_responses(403, 404),
               openapi_extra=rule_doc(cmd.DeleteSchedule))
def delete_schedule(schedule_id: UUID, request: Request, caller: CallerDep,
                    dispatcher: DispatcherDep) -> Response:
    _, position = dispatch(request, dispatcher, caller, cmd.DeleteSchedule(schedule_id))
    response = Response(status_code=204)
    set_position(response, position)
    return response


@router.post("/{schedule_id}/toggle/", response_model=ScheduleOut,
             summary="Enable or disable a schedule (flips it when no body is given)",
             responses=problem_responses(403, 404),
             openapi_extra=rule_doc(cmd.ToggleSchedule))
def toggle_schedule(schedule_id: UUID, request: Request, caller: CallerDep,
                    dispatcher: DispatcherDep, response: Response, body: ToggleIn | None = None
                    ) -> ScheduleOut:
    return _answer(response, dispatch(request, dispatcher, caller, cmd.ToggleSchedule(
        schedule_id, body.is_active if body else None)))
