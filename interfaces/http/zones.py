"""`/api/zones/` (zones of speakers) and `/api/playback/` (what they play, live)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import BaseModel, Field, StringConstraints
from starlette.concurrency import run_in_threadpool

from application.authz import Caller, Principal, tenant_filter, visible_row
from application.commands import playback as cmd
from application.dispatch import Dispatcher
from application.loudness import LoudnessCache
from application.queries import ReadModel, ZoneReads
from application.rules import TENANT_READ
from application.services import DISPATCHER, LOUDNESS, MEDIA_URLS, MediaUrls
from domain.live_state import zone_state
from domain.playback import PlaybackError
from domain.sound import DUCKING_MODES, SOUND_DEFAULTS, SOUND_RANGES
from domain.zone import Zone
from interfaces.http.deps import (
    CallerDep,
    DispatcherDep,
    PageDep,
    PrincipalDep,
    UrlsDep,
    WaitForPosition,
    ZonesDep,
    dispatch,
    paginated,
    rule_doc,
    set_position,
)
from interfaces.http.schemas import NO_NUL, ONE_LINE, ONE_LINE_CHECK, Page, problem_responses
from projections.playback import zone_row

zones = APIRouter(prefix="/api/zones", tags=["zones"])
playback = APIRouter(prefix="/api/playback", tags=["playback"])

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=255,
                                        pattern=ONE_LINE), ONE_LINE_CHECK]
Description = Annotated[str, Field(max_length=5000, pattern=NO_NUL)]
Timezone = Annotated[str, Field(max_length=64, pattern=ONE_LINE, examples=["Europe/London"]),
                     ONE_LINE_CHECK]
Volume = Annotated[int, Field(ge=0, le=100)]


def _sound_doc(key: str) -> str:
    """The documented range of a sound setting; the rule itself is the domain's."""
    if key == "ducking":
        return f"one of {', '.join(DUCKING_MODES)}; default {SOUND_DEFAULTS[key]}"
    low, high = SOUND_RANGES[key]
    return f"{low:g} to {high:g}; default {SOUND_DEFAULTS[key]:g}"


# Types only: the ranges are checked by the zone (domain/sound.check_sound) -> 422.
SoundNumber = Annotated[float, Field(strict=True, allow_inf_nan=False)]
Ducking = Annotated[str, Field(max_length=16, description=_sound_doc("ducking"))]


class ZoneOut(BaseModel):
    id: UUID
    name: str
    description: str
    default_volume: int
    volume: int
    timezone: str
    is_active: bool
    is_playing: bool
    client: UUID
    fallback_folder_ids: list[UUID] = Field(
        default_factory=list, description="played when the zone's music schedules end")
    crossfade_s: int = SOUND_DEFAULTS["crossfade_s"]
    ducking: str = SOUND_DEFAULTS["ducking"]
    duck_level: int = SOUND_DEFAULTS["duck_level"]
    target_lufs: float = SOUND_DEFAULTS["target_lufs"]
    announcement_lift_lu: float = SOUND_DEFAULTS["announcement_lift_lu"]
    created_at: datetime | None = None
    updated_at: datetime | None = None


def _zone_out(row: dict[str, Any]) -> ZoneOut:
    fallback = (row.get("schedule") or {}).get("fallback_folder_ids", [])
    return ZoneOut(**{**row, "client": row["client_id"], "fallback_folder_ids": fallback})


class ZoneIn(BaseModel):
    name: Name
    description: Description = ""
    default_volume: Volume = 70
    timezone: Timezone = "UTC"


class ZonePatch(BaseModel):
    name: Name | None = None
    description: Description | None = None
    default_volume: Volume | None = None
    timezone: Timezone | None = None
    is_active: bool | None = None
    fallback_folder_ids: list[UUID] | None = Field(
        None, description="folders played when the zone's music schedules end (empty: stop)")
    crossfade_s: SoundNumber | None = Field(
        None, description=f"seconds two music tracks overlap, {_sound_doc('crossfade_s')}")
    ducking: Ducking | None = None
    duck_level: SoundNumber | None = Field(
        None, description=f"music volume during announcements in duck mode, percent of its"
                          f" own, {_sound_doc('duck_level')}")
    target_lufs: SoundNumber | None = Field(
        None, description=f"music loudness (LUFS), {_sound_doc('target_lufs')}")
    announcement_lift_lu: SoundNumber | None = Field(
        None, description=f"announcements this many LU above the music,"
                          f" {_sound_doc('announcement_lift_lu')}")


@zones.get("/", response_model=Page[ZoneOut], summary="List zones",
           openapi_extra=rule_doc(TENANT_READ))
def list_zones(request: Request, principal: PrincipalDep, zones: ZonesDep,
               page: PageDep, wait: WaitForPosition = None) -> dict[str, Any]:
    result = zones.at(wait).list_zones(client_id=tenant_filter(principal),
                                       offset=page.offset, limit=page.page_size)
    return paginated(request, page, result.count, [_zone_out(r) for r in result.rows])


@zones.post("/", status_code=201, response_model=ZoneOut,
            responses=problem_responses(403, 422), summary="Create a zone",
            openapi_extra=rule_doc(cmd.CreateZone))
def create_zone(body: ZoneIn, request: Request, caller: CallerDep, dispatcher: DispatcherDep,
                response: Response) -> ZoneOut:
    zone, position = dispatch(request, dispatcher, caller, cmd.CreateZone(**body.model_dump()))
    set_position(response, position)
    return _zone_out(zone_row(zone, queue=False))


@zones.get("/{zone_id}/", response_model=ZoneOut, responses=problem_responses(404),
           summary="One zone", openapi_extra=rule_doc(TENANT_READ))
def get_zone(zone_id: UUID, principal: PrincipalDep, zones: ZonesDep,
             wait: WaitForPosition = None) -> ZoneOut:
    return _zone_out(visible_zone(zones, principal, zone_id, wait))


@zones.patch("/{zone_id}/", response_model=ZoneOut, responses=problem_responses(403, 404, 422),
             summary="Change a zone", openapi_extra=rule_doc(cmd.ChangeZone))
def update_zone(zone_id: UUID, body: ZonePatch, request: Request, caller: CallerDep,
                dispatcher: DispatcherDep, response: Response) -> ZoneOut:
    zone, position = dispatch(request, dispatcher, caller, cmd.ChangeZone(
        zone_id, body.model_dump(exclude_none=True)))
    set_position(response, position)
    return _zone_out(zone_row(zone, queue=False))


@zones.delete("/{zone_id}/", status_code=204, response_class=Response,
              responses=problem_responses(403, 404), summary="Delete a zone",
              openapi_extra=rule_doc(cmd.DeleteZone))
def delete_zone(zone_id: UUID, request: Request, caller: CallerDep,
                dispatcher: DispatcherDep) -> Response:
    _, position = dispatch(request, dispatcher, caller, cmd.DeleteZone(zone_id))
    response = Response(status_code=204)
    set_position(response, position)
    return response


def visible_zone(zones: ReadModel[ZoneReads], principal: Principal, zone_id: UUID,
                 wait: int | None) -> dict[str, Any]:
    """The zone's row if the principal may see it (404 if not), once `wait` is applied."""
    return visible_row(principal, zones.at(wait).get_zone(zone_id), "zone", zone_id)


# -- playback ------------------------------------------------------------------------


def state_body(state: dict[str, Any], urls: MediaUrls,
               queue: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """The zone state with signed media URLs and the server's clock."""
    def signed(item: dict[str, Any] | None) -> dict[str, Any] | None:
        return None if item is None else urls.signed(item)

    body = {**state, "current": signed(state.get("current")), "next": signed(state.get("next")),
            "announcement": signed(state.get("announcement")),
            "server_time": datetime.now(UTC).isoformat()}
    if queue is not None:
        body["queue"] = queue
    return body


@playback.get("/state/", summary="A zone's playback state (with its queue)",
              responses=problem_responses(404), openapi_extra=rule_doc(TENANT_READ))
def get_state(principal: PrincipalDep, zones: ZonesDep, urls: UrlsDep,
              zone_id: Annotated[UUID, Query()], wait: WaitForPosition = None
              ) -> dict[str, Any]:
    row = visible_zone(zones, principal, zone_id, wait)
    return state_body(row["state"], urls, row["queue"])


class ZoneCommand(BaseModel):
    zone_id: UUID


class PlayIn(ZoneCommand):
    folder_ids: list[UUID] = Field(default_factory=list, description="folders, in order")
    playlist_ids: list[UUID] = Field(default_factory=list, description="alias of folder_ids")
    track_ids: list[UUID] = Field(default_factory=list)
    shuffle: bool = False


class VolumeIn(ZoneCommand):
    volume: Volume


class SeekIn(ZoneCommand):
    position_ms: Annotated[int | None, Field(ge=0)] = None
    position: Annotated[float | None, Field(ge=0, le=1e9, allow_inf_nan=False,
                                            description="seconds (seed style)")] = None


def _answer(loudness: LoudnessCache, urls: MediaUrls, response: Response,
            result: tuple[Zone, int | None]) -> dict[str, Any]:
    zone, position = result
    set_position(response, position)
    return state_body(zone_state(zone, loudness.for_zones([zone])), urls)


class Commanding:
    """A playback command's route: dispatch as the caller, answer the zone's state."""

    def __init__(self, request: Request, caller: Caller, dispatcher: Dispatcher,
                 loudness: LoudnessCache, urls: MediaUrls, response: Response) -> None:
        self.request, self.caller, self.dispatcher = request, caller, dispatcher
        self.loudness, self.urls, self.response = loudness, urls, response

    async def __call__(self, command: cmd.ZoneCommand) -> dict[str, Any]:
        """Dispatch and answer in one trip to the threadpool. (A plain `def` route took
        two: FastAPI validates a sync route's answer in the threadpool as well.)"""
        return await run_in_threadpool(self._run, command)

    def _run(self, command: cmd.ZoneCommand) -> dict[str, Any]:
        result = dispatch(self.request, self.dispatcher, self.caller, command)
        return _answer(self.loudness, self.urls, self.response, result)


async def commanding(request: Request, caller: CallerDep, response: Response) -> Commanding:
    """The hot path's three ports in one dependency (async, no I/O: a sync one would
    cost a hop to the threadpool)."""
    ports = request.app.state.ports
    return Commanding(request, caller, ports[DISPATCHER], ports[LOUDNESS], ports[MEDIA_URLS],
                      response)


CommandingDep = Annotated[Commanding, Depends(commanding)]


@playback.post("/play/", summary="Play folders (playlists) or tracks in a zone",
               responses=problem_responses(403, 404, 409, 422),
               openapi_extra=rule_doc(cmd.Play))
async def play(body: PlayIn, command: CommandingDep) -> dict[str, Any]:
    return await command(cmd.Play(
        body.zone_id, folder_ids=(*body.folder_ids, *body.playlist_ids),
        track_ids=tuple(body.track_ids), shuffle=body.shuffle))


def _simple(command: type[cmd.ZoneCommand], summary: str) -> None:
    async def route(body: ZoneCommand, commanding: CommandingDep) -> dict[str, Any]:
        return await commanding(command(body.zone_id))

    name = command.__name__.lower()
    route.__name__ = name
    playback.post(f"/{name}/", summary=summary, responses=problem_responses(403, 404, 409),
                  openapi_extra=rule_doc(command))(route)


_simple(cmd.Pause, "Pause the music")
_simple(cmd.Resume, "Resume the music")
_simple(cmd.Next, "Skip to the next track (or skip the announcement playing)")
_simple(cmd.Previous, "Go back to the previous track")
_simple(cmd.Restart, "Play the current track again from its start")


@playback.post("/volume/", summary="Set a zone's volume (0–100)",
               responses=problem_responses(403, 404, 422),
               openapi_extra=rule_doc(cmd.SetVolume))
async def volume(body: VolumeIn, command: CommandingDep) -> dict[str, Any]:
    return await command(cmd.SetVolume(body.zone_id, volume=body.volume))


@playback.post("/seek/", summary="Seek within the current track",
               responses=problem_responses(403, 404, 409, 422),
               openapi_extra=rule_doc(cmd.Seek))
async def seek(body: SeekIn, command: CommandingDep) -> dict[str, Any]:
    if body.position_ms is None and body.position is None:
        raise PlaybackError("give position_ms (or position in seconds)", field="position_ms")
    position_ms = body.position_ms if body.position_ms is not None else int(
        (body.position or 0) * 1000)
    return await command(cmd.Seek(body.zone_id, position_ms=position_ms))
