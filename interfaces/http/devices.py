"""`/api/devices/`: registering and pairing devices, their tokens, volume and presence.

Also `POST /api/zones/{zone_id}/pairing-code/` (`zones_pairing_router`), which
starts the pairing of a device with a zone.
"""

from __future__ import annotations

import ipaddress
import logging
from datetime import UTC, datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import AwareDatetime, BaseModel, Field, StringConstraints
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from application.authz import tenant_filter
from application.commands import devices as cmd
from application.commands import playback as cmd_playback
from application.devices import DeviceGrant
from application.horizon import HORIZON, upcoming_announcements, upcoming_tracks
from application.rules import TENANT_READ, ZONE_FOLLOW, Target
from domain.base import NotFound
from domain.device import Device
from infra.bootstrap import Container
from infra.postgres.devices_view import PostgresDevicesView
from infra.presence import Presence
from interfaces.http.deps import (
    CallerDep,
    ContainerDep,
    PageDep,
    PrincipalDep,
    WaitForPosition,
    dispatch,
    paginated,
    rule_doc,
    set_position,
)
from interfaces.http.ratelimits import limit
from interfaces.http.schemas import ONE_LINE, ONE_LINE_CHECK, Page, problem_responses
from projections.scheduling import spec_of_row

log = logging.getLogger(__name__)

router = APIRouter(prefix="/api/devices", tags=["devices"])
zones_pairing_router = APIRouter(prefix="/api/zones", tags=["zones"])

HardwareId = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1,
                                               max_length=255, pattern=ONE_LINE), ONE_LINE_CHECK]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=255,
                                        pattern=ONE_LINE), ONE_LINE_CHECK]
DeviceType = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1,
                                               max_length=50, pattern=ONE_LINE), ONE_LINE_CHECK]
Model = Annotated[str, StringConstraints(strip_whitespace=True, max_length=100,
                                         pattern=ONE_LINE), ONE_LINE_CHECK]
Firmware = Annotated[str, StringConstraints(strip_whitespace=True, max_length=50,
                                            pattern=ONE_LINE), ONE_LINE_CHECK]


def _view(container: Container) -> PostgresDevicesView:
    return container.devices_view


def _presence(container: Container) -> Presence:
    return container.presence


def _wait(container: Container, position: int | None) -> None:
    container.wait_for_devices(position)


# -- shapes ----------------------------------------------------------------------------


class DeviceOut(BaseModel):
    id: UUID
    name: str
    device_type: str = Field(description="speaker, tablet, browser, ...")
    device_id: str = Field(description="the hardware id (unique across all clients)")
    model: str
    firmware_version: str
    ip_address: str | None
    last_seen: datetime | None = Field(description="time of the last heartbeat")
    is_online: bool
    volume: int
    zone: UUID
    client: UUID
    has_token: bool = Field(description="whether a device token is currently valid")
    created_at: datetime | None = None
    updated_at: datetime | None = None


class DeviceToken(BaseModel):
    device: DeviceOut
    token: str = Field(description="the device token: `Authorization: Bearer <token>` on "
                       "heartbeats, `?token=` on the WebSocket")


class RegisterIn(BaseModel):
    device_id: HardwareId = Field(description="the hardware id")
    name: Name
    device_type: DeviceType
    zone: UUID
    model: Model = ""
    firmware_version: Firmware = ""


class DevicePatch(BaseModel):
    name: Name | None = None
    device_type: DeviceType | None = None
    zone: UUID | None = None
    model: Model | None = None
    firmware_version: Firmware | None = None


class VolumeIn(BaseModel):
    volume: Annotated[int, Field(ge=0, le=100)]


class HeartbeatOut(BaseModel):
    is_online: bool
    last_seen: datetime


class PairIn(BaseModel):
    code: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=32)]
    device_id: HardwareId = Field(description="the hardware id")
    name: Name
    device_type: DeviceType
    model: Model = ""
    firmware_version: Firmware = ""


class PairingCodeOut(BaseModel):
    code: str = Field(description="8 characters, single use")
    zone_id: UUID
    expires_at: datetime


def device_row(device: Device) -> dict[str, Any]:
    """A device aggregate in the shape of a read-model row."""
    return {
        "id": device.id, "client_id": device.client_id, "zone_id": device.zone_id,
        "device_id": device.device_id, "name": device.name, "device_type": device.device_type,
        "model": device.model, "firmware_version": device.firmware_version,
        "volume": device.volume, "ip_address": device.ip_address,
        "is_online": device.is_online, "last_seen": device.last_seen,
        "has_token": device.token_id is not None,
        "created_at": device.created_on, "updated_at": device.modified_on,
    }


def devices_out(container: Container, rows: list[dict[str, Any]]) -> list[DeviceOut]:
    """Rows with live presence from Redis; the recorded presence if Redis is unreachable."""
    ids = [row["id"] for row in rows]
    try:
        presence = _presence(container)
        online, seen = presence.online(ids), presence.last_seen(ids)
    except (RedisConnectionError, RedisTimeoutError) as e:
        log.warning("presence unavailable, showing recorded presence: %s", e)
        online, seen = {r["id"] for r in rows if r["is_online"]}, {}
    return [_out(r, is_online=r["id"] in online, last_seen=seen.get(r["id"]) or r["last_seen"])
            for r in rows]


def _out(row: dict[str, Any], *, is_online: bool, last_seen: datetime | None) -> DeviceOut:
    return DeviceOut(
        id=row["id"], name=row["name"], device_type=row["device_type"],
        device_id=row["device_id"], model=row["model"],
        firmware_version=row["firmware_version"], ip_address=row["ip_address"],
        last_seen=last_seen, is_online=is_online, volume=row["volume"], zone=row["zone_id"],
        client=row["client_id"], has_token=row["has_token"], created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


def device_out(container: Container, device: Device) -> DeviceOut:
    return devices_out(container, [device_row(device)])[0]


def _device_token(container: Container, grant: DeviceGrant) -> DeviceToken:
    device = grant.device
    token = container.tokens.device(device.id, device.zone_id, device.client_id, grant.token_id)
    return DeviceToken(device=device_out(container, device), token=token)


# -- pairing (no user: the code is the credential) -------------------------------------


@router.post("/pair/", status_code=201, response_model=DeviceToken,
             responses=problem_responses(400, 409, 422, 429),
             dependencies=[Depends(limit("pair", per="ip"))],
             summary="Pair a device with a zone using a pairing code; returns its token",
             description="The code comes from `POST /api/zones/{zone_id}/pairing-code/` and "
             "works once, for ten minutes. A device already registered to the same client is "
             "moved to the code's zone and gets a new token.",
             openapi_extra=rule_doc(cmd.PairDevice))
def pair(body: PairIn, request: Request, container: ContainerDep,
         response: Response) -> DeviceToken:
    grant = dispatch(request, container, None, cmd.PairDevice(
        code=body.code, hardware_id=body.device_id, name=body.name,
        device_type=body.device_type, model=body.model,
        firmware_version=body.firmware_version))
    set_position(response, grant.position)
    return _device_token(container, grant)


@zones_pairing_router.post(
    "/{zone_id}/pairing-code/", status_code=201, response_model=PairingCodeOut,
    responses=problem_responses(403, 404, 429), summary="A single-use code to pair a device",
    dependencies=[Depends(limit("pairing_code", per="principal"))],
    openapi_extra=rule_doc(cmd.CreatePairingCode))
def create_pairing_code(zone_id: UUID, request: Request, caller: CallerDep,
                        container: ContainerDep) -> PairingCodeOut:
    code, expires_at = dispatch(request, container, caller, cmd.CreatePairingCode(zone_id))
    return PairingCodeOut(code=code, zone_id=zone_id, expires_at=expires_at)


# -- devices -----------------------------------------------------------------------------


@router.get("/", response_model=Page[DeviceOut], summary="List devices, with live presence",
            openapi_extra=rule_doc(TENANT_READ))
def list_devices(request: Request, principal: PrincipalDep, container: ContainerDep,
                 page: PageDep,
                 zone: Annotated[UUID | None, Query(description="only this zone's")] = None,
                 wait: WaitForPosition = None) -> dict[str, Any]:
    _wait(container, wait)
    result = _view(container).list_devices(
        client_id=tenant_filter(principal), zone_id=zone, offset=page.offset,
        limit=page.page_size)
    return paginated(request, page, result.count, devices_out(container, result.rows))


@router.post("/register/", status_code=201, response_model=DeviceOut,
             responses=problem_responses(403, 404, 409, 422),
             summary="Register a device by its hardware id in one of your zones",
             openapi_extra=rule_doc(cmd.RegisterDevice))
def register(body: RegisterIn, request: Request, caller: CallerDep, container: ContainerDep,
             response: Response) -> DeviceOut:
    device, position = dispatch(request, container, caller, cmd.RegisterDevice(
        body.zone, hardware_id=body.device_id, name=body.name, device_type=body.device_type,
        model=body.model, firmware_version=body.firmware_version))
    set_position(response, position)
    return device_out(container, device)


@router.get("/{device_id}/", response_model=DeviceOut, responses=problem_responses(404),
            summary="One device", openapi_extra=rule_doc(TENANT_READ))
def get_device(device_id: UUID, principal: PrincipalDep, container: ContainerDep,
               wait: WaitForPosition = None) -> DeviceOut:
    _wait(container, wait)
    row = _view(container).get(device_id)
    scope = tenant_filter(principal)
    if row is None or (scope is not None and row["client_id"] != scope):
        raise NotFound(f"device {device_id} not found")
    return devices_out(container, [row])[0]


@router.patch("/{device_id}/", response_model=DeviceOut,
              responses=problem_responses(403, 404, 422),
              summary="Rename a device, change its details, or move it to another zone",
              openapi_extra=rule_doc(cmd.UpdateDevice))
def update_device(device_id: UUID, body: DevicePatch, request: Request, caller: CallerDep,
                  container: ContainerDep, response: Response) -> DeviceOut:
    changes = body.model_dump(exclude_none=True)
    if "zone" in changes:
        changes["zone_id"] = changes.pop("zone")
    device, position = dispatch(request, container, caller,
                                cmd.UpdateDevice(device_id, changes))
    set_position(response, position)
    return device_out(container, device)


@router.delete("/{device_id}/", status_code=204, response_class=Response,
               responses=problem_responses(403, 404),
               summary="Delete a device (frees its slot and its hardware id)",
               openapi_extra=rule_doc(cmd.DeleteDevice))
def delete_device(device_id: UUID, request: Request, caller: CallerDep,
                  container: ContainerDep) -> Response:
    _, position = dispatch(request, container, caller, cmd.DeleteDevice(device_id))
    response = Response(status_code=204)
    set_position(response, position)
    return response


@router.post("/{device_id}/volume/", response_model=DeviceOut,
             responses=problem_responses(403, 404, 422), summary="Set a device's volume",
             openapi_extra=rule_doc(cmd.SetDeviceVolume))
def set_volume(device_id: UUID, body: VolumeIn, request: Request, caller: CallerDep,
               container: ContainerDep, response: Response) -> DeviceOut:
    device, position = dispatch(request, container, caller,
                                cmd.SetDeviceVolume(device_id, body.volume))
    set_position(response, position)
    return device_out(container, device)


@router.post("/{device_id}/token/", response_model=DeviceToken,
             responses=problem_responses(403, 404),
             summary="Issue a new device token (the previous one stops working)",
             openapi_extra=rule_doc(cmd.IssueDeviceToken))
def rotate_token(device_id: UUID, request: Request, caller: CallerDep,
                 container: ContainerDep, response: Response) -> DeviceToken:
    grant = dispatch(request, container, caller, cmd.IssueDeviceToken(device_id))
    set_position(response, grant.position)
    return _device_token(container, grant)


@router.delete("/{device_id}/token/", status_code=204, response_class=Response,
               responses=problem_responses(403, 404), summary="Revoke the device's token",
               openapi_extra=rule_doc(cmd.RevokeDeviceToken))
def revoke_token(device_id: UUID, request: Request, caller: CallerDep,
                 container: ContainerDep) -> Response:
    _, position = dispatch(request, container, caller, cmd.RevokeDeviceToken(device_id))
    response = Response(status_code=204)
    set_position(response, position)
    return response


# -- presence ----------------------------------------------------------------------------


@router.post("/{device_id}/heartbeat/", response_model=HeartbeatOut,
             responses=problem_responses(401, 403, 404, 503),
             summary="Report that the device is alive (device token, or a user)",
             description="Presence lives in Redis for a short TTL; only coming online (here) "
             "and going offline (the sweeper) are recorded as events.",
             openapi_extra=rule_doc(cmd.RecordHeartbeat))
def heartbeat(device_id: UUID, request: Request, caller: CallerDep, container: ContainerDep,
              response: Response) -> HeartbeatOut:
    now, position = dispatch(request, container, caller,
                             cmd.RecordHeartbeat(device_id, _ip(request)))
    set_position(response, position)
    return HeartbeatOut(is_online=True, last_seen=now)


def _ip(request: Request) -> str | None:
    host = request.client.host if request.client else None
    try:
        return str(ipaddress.ip_address(host)) if host else None
    except ValueError:
        return None


# -- offline playback (issue 17; docs/device-protocol.md) ---------------------------------


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


@zones_pairing_router.get(
    "/{zone_id}/horizon/", response_model=HorizonOut, responses=problem_responses(403, 404),
    summary="The next hour of a zone: its tracks and scheduled announcements, to cache",
    description="For devices to play on when they lose the server: the current track and "
    "those after it with the times they start, and the timed announcements the zone's "
    "schedules fire within the hour. Cache the media by `media_key` (the URLs' signatures "
    "expire; the keys do not).", openapi_extra=rule_doc(ZONE_FOLLOW))
def horizon(zone_id: UUID, caller: CallerDep, container: ContainerDep,
            wait: WaitForPosition = None) -> HorizonOut:
    container.wait_for_playback(wait)
    row = container.zones_view.get_zone(zone_id)
    if row is None:
        raise NotFound(f"zone {zone_id} not found")
    ZONE_FOLLOW.grant(caller, Target("zone", zone_id), row["client_id"])
    now, state = datetime.now(UTC), row["state"]
    specs = [spec_of_row(r) for r in container.schedules_view.active_schedules()]
    client_id = row["client_id"]
    announcements = upcoming_announcements(
        specs, zone_id, state.get("timezone") or "UTC", now,
        lambda ann_id: container.catalog.announcement_item(client_id, ann_id))
    return HorizonOut(
        zone_id=zone_id, server_time=now, until=now + HORIZON, play_seq=state["play_seq"],
        tracks=[HorizonTrack(**_signed(container, t))
                for t in upcoming_tracks(state, row["queue"], now)],
        announcements=[HorizonAnnouncement(**_signed(container, a)) for a in announcements])


def _signed(container: Container, item: dict[str, Any]) -> dict[str, Any]:
    url = container.storage.signed_url(item["media_key"],
                                       expires_in=container.settings.media_url_ttl_seconds,
                                       content_type=item["content_type"])
    return {**item, "url": url}


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


@router.post("/{device_id}/plays/", response_model=PlaysOut,
             responses=problem_responses(401, 403, 404, 422),
             summary="Report the plays the device made offline (idempotent per play_id)",
             description="Sent when the device reaches the server again. The plays go in "
             "proof of play as device-reported (`source: device`), replacing the zone's own "
             "record over their times.", openapi_extra=rule_doc(cmd_playback.ReportDevicePlays))
def report_plays(device_id: UUID, body: PlaysIn, request: Request, caller: CallerDep,
                 container: ContainerDep, response: Response) -> PlaysOut:
    plays = tuple(p.model_dump() for p in body.plays)
    recorded, position = dispatch(request, container, caller, cmd_playback.ReportDevicePlays(
        body.zone_id, device_id, plays))
    set_position(response, position)
    return PlaysOut(received=len(plays), recorded=recorded)
