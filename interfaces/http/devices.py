"""`/api/devices/`: registering and pairing devices, their tokens, volume and presence.

Also `POST /api/zones/{zone_id}/pairing-code/` (`zones_pairing_router`), which
starts the pairing of a device with a zone. Offline playback's routes are
interfaces/http/offline.py's.
"""

from __future__ import annotations

import ipaddress
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, Query, Request, Response

from application.authz import tenant_filter
from application.commands import devices as cmd
from application.devices import DeviceGrant
from application.ports import Presence, Tokens
from application.rules import TENANT_READ
from domain.base import NotFound
from interfaces.http.deps import (
    CallerDep,
    DevicesDep,
    DispatcherDep,
    PageDep,
    PresenceDep,
    PrincipalDep,
    TokensDep,
    WaitForPosition,
    dispatch,
    paginated,
    rule_doc,
    set_position,
)
from interfaces.http.device_schemas import (
    DeviceOut,
    DevicePatch,
    DeviceToken,
    HeartbeatOut,
    PairIn,
    PairingCodeOut,
    RegisterIn,
    VolumeIn,
    device_out,
    devices_out,
)
from interfaces.http.ratelimits import limit
from interfaces.http.schemas import Page, problem_responses

router = APIRouter(prefix="/api/devices", tags=["devices"])
zones_pairing_router = APIRouter(prefix="/api/zones", tags=["zones"])

def _device_token(tokens: Tokens, presence: Presence, grant: DeviceGrant) -> DeviceToken:
    device = grant.device
    token = tokens.device(device.id, device.zone_id, device.client_id, grant.token_id)
    return DeviceToken(device=device_out(presence, device), token=token)


# -- pairing (no user: the code is the credential) -------------------------------------


@router.post("/pair/", status_code=201, response_model=DeviceToken,
             responses=problem_responses(400, 409, 422, 429),
             dependencies=[Depends(limit("pair", per="ip"))],
             summary="Pair a device with a zone using a pairing code; returns its token",
             description="The code comes from `POST /api/zones/{zone_id}/pairing-code/` and "
             "works once, for ten minutes. A device already registered to the same client is "
             "moved to the code's zone and gets a new token.",
             openapi_extra=rule_doc(cmd.PairDevice))
def pair(body: PairIn, request: Request, dispatcher: DispatcherDep, tokens: TokensDep,
         presence: PresenceDep, response: Response) -> DeviceToken:
    grant = dispatch(request, dispatcher, None, cmd.PairDevice(
        code=body.code, hardware_id=body.device_id, name=body.name,
        device_type=body.device_type, model=body.model,
        firmware_version=body.firmware_version))
    set_position(response, grant.position)
    return _device_token(tokens, presence, grant)


@zones_pairing_router.post(
    "/{zone_id}/pairing-code/", status_code=201, response_model=PairingCodeOut,
    responses=problem_responses(403, 404, 429), summary="A single-use code to pair a device",
    dependencies=[Depends(limit("pairing_code", per="principal"))],
    openapi_extra=rule_doc(cmd.CreatePairingCode))
def create_pairing_code(zone_id: UUID, request: Request, caller: CallerDep,
                        dispatcher: DispatcherDep) -> PairingCodeOut:
    code, expires_at = dispatch(request, dispatcher, caller, cmd.CreatePairingCode(zone_id))
    return PairingCodeOut(code=code, zone_id=zone_id, expires_at=expires_at)


# -- devices -----------------------------------------------------------------------------


@router.get("/", response_model=Page[DeviceOut], summary="List devices, with live presence",
            openapi_extra=rule_doc(TENANT_READ))
def list_devices(request: Request, principal: PrincipalDep, devices: DevicesDep,
                 presence: PresenceDep, page: PageDep,
                 zone: Annotated[UUID | None, Query(description="only this zone's")] = None,
                 wait: WaitForPosition = None) -> dict[str, Any]:
    result = devices.at(wait).list_devices(
        client_id=tenant_filter(principal), zone_id=zone, offset=page.offset,
        limit=page.page_size)
    return paginated(request, page, result.count, devices_out(presence, result.rows))


@router.post("/register/", status_code=201, response_model=DeviceOut,
             responses=problem_responses(403, 404, 409, 422),
             summary="Register a device by its hardware id in one of your zones",
             openapi_extra=rule_doc(cmd.RegisterDevice))
def register(body: RegisterIn, request: Request, caller: CallerDep, dispatcher: DispatcherDep,
             presence: PresenceDep, response: Response) -> DeviceOut:
    device, position = dispatch(request, dispatcher, caller, cmd.RegisterDevice(
        body.zone, hardware_id=body.device_id, name=body.name, device_type=body.device_type,
        model=body.model, firmware_version=body.firmware_version))
    set_position(response, position)
    return device_out(presence, device)


@router.get("/{device_id}/", response_model=DeviceOut, responses=problem_responses(404),
            summary="One device", openapi_extra=rule_doc(TENANT_READ))
def get_device(device_id: UUID, principal: PrincipalDep, devices: DevicesDep,
               presence: PresenceDep, wait: WaitForPosition = None) -> DeviceOut:
    row = devices.at(wait).get(device_id)
    scope = tenant_filter(principal)
    if row is None or (scope is not None and row["client_id"] != scope):
        raise NotFound(f"device {device_id} not found")
    return devices_out(presence, [row])[0]


@router.patch("/{device_id}/", response_model=DeviceOut,
              responses=problem_responses(403, 404, 422),
              summary="Rename a device, change its details, or move it to another zone",
              openapi_extra=rule_doc(cmd.UpdateDevice))
def update_device(device_id: UUID, body: DevicePatch, request: Request, caller: CallerDep,
                  dispatcher: DispatcherDep, presence: PresenceDep,
                  response: Response) -> DeviceOut:
    changes = body.model_dump(exclude_none=True)
    if "zone" in changes:
        changes["zone_id"] = changes.pop("zone")
    device, position = dispatch(request, dispatcher, caller,
                                cmd.UpdateDevice(device_id, changes))
    set_position(response, position)
    return device_out(presence, device)


@router.delete("/{device_id}/", status_code=204, response_class=Response,
               responses=problem_responses(403, 404),
               summary="Delete a device (frees its slot and its hardware id)",
               openapi_extra=rule_doc(cmd.DeleteDevice))
def delete_device(device_id: UUID, request: Request, caller: CallerDep,
                  dispatcher: DispatcherDep) -> Response:
    _, position = dispatch(request, dispatcher, caller, cmd.DeleteDevice(device_id))
    response = Response(status_code=204)
    set_position(response, position)
    return response


@router.post("/{device_id}/volume/", response_model=DeviceOut,
             responses=problem_responses(403, 404, 422), summary="Set a device's volume",
             openapi_extra=rule_doc(cmd.SetDeviceVolume))
def set_volume(device_id: UUID, body: VolumeIn, request: Request, caller: CallerDep,
               dispatcher: DispatcherDep, presence: PresenceDep,
               response: Response) -> DeviceOut:
    device, position = dispatch(request, dispatcher, caller,
                                cmd.SetDeviceVolume(device_id, body.volume))
    set_position(response, position)
    return device_out(presence, device)


@router.post("/{device_id}/token/", response_model=DeviceToken,
             responses=problem_responses(403, 404),
             summary="Issue a new device token (the previous one stops working)",
             openapi_extra=rule_doc(cmd.IssueDeviceToken))
def rotate_token(device_id: UUID, request: Request, caller: CallerDep,
                 dispatcher: DispatcherDep, tokens: TokensDep, presence: PresenceDep,
                 response: Response) -> DeviceToken:
    grant = dispatch(request, dispatcher, caller, cmd.IssueDeviceToken(device_id))
    set_position(response, grant.position)
    return _device_token(tokens, presence, grant)


@router.delete("/{device_id}/token/", status_code=204, response_class=Response,
               responses=problem_responses(403, 404), summary="Revoke the device's token",
               openapi_extra=rule_doc(cmd.RevokeDeviceToken))
def revoke_token(device_id: UUID, request: Request, caller: CallerDep,
                 dispatcher: DispatcherDep) -> Response:
    _, position = dispatch(request, dispatcher, caller, cmd.RevokeDeviceToken(device_id))
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
def heartbeat(device_id: UUID, request: Request, caller: CallerDep, dispatcher: DispatcherDep,
              response: Response) -> HeartbeatOut:
    now, position = dispatch(request, dispatcher, caller,
                             cmd.RecordHeartbeat(device_id, _ip(request)))
    set_position(response, position)
    return HeartbeatOut(is_online=True, last_seen=now)


def _ip(request: Request) -> str | None:
    host = request.client.host if request.client else None
    try:
        return str(ipaddress.ip_address(host)) if host else None
    except ValueError:
        return None
