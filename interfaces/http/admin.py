"""`/api/admin/`: the admin panel across all clients (the seed's Admin table).

Staff and admins read (STAFF_READ); only admins change (the ADMIN rule, applied
by the command dispatcher), and every change is an event of the accounts
context whose actor is the admin. Client users get 403 on every route.
Deleting never loses data: a client is cancelled, a user deactivated.
Lists read the read models; send a command's `X-Event-Position` back as
`X-Wait-For-Position` to read your own writes.
"""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, Query, Request, Response

from application.admin import require_staff
from application.authz import Caller, Principal
from application.commands import admin as cmd
from application.dispatch import Command, Dispatcher
from application.queries import AccountReads, DeviceReads, LibraryReads, ZoneReads
from application.rules import ADMIN, STAFF_READ
from domain.accounts import Role, SubscriptionStatus, Tier
from domain.base import NotFound
from domain.plan import effective_limits
from domain.quota import GB
from interfaces.http.admin_schemas import (
    PLAIN,
    AdminClientOut,
    ClientIn,
    ClientPatch,
    ClientStorage,
    ClientUsage,
    UserIn,
    UserPatch,
)
from interfaces.http.deps import (
    AccountsDep,
    CallerDep,
    DevicesDep,
    DispatcherDep,
    LibraryDep,
    PageDep,
    PresenceDep,
    PrincipalDep,
    UrlsDep,
    WaitForPosition,
    ZonesDep,
    dispatch,
    paginated,
    rule_doc,
    set_position,
)
from interfaces.http.device_schemas import DeviceOut, devices_out
from interfaces.http.schemas import ClientOut, ClientRow, Page, UserOut, UserRow
from interfaces.http.schemas import problem_responses as problems
from projections.accounts import ClientFilter, UserFilter

router = APIRouter(prefix="/api/admin", tags=["admin"])


async def staff_principal(principal: PrincipalDep) -> Principal:
    require_staff(principal)
    return principal


async def admins_first(caller: CallerDep) -> None:
    """Refuse a caller the ADMIN rule refuses before the body is read, so a client
    user gets 403 even for a malformed body. Only an early answer: the dispatcher
    applies the rule to the command itself."""
    ADMIN.grant(caller, None, None)


StaffDep = Annotated[Principal, Depends(staff_principal)]
ADMINS_FIRST = [Depends(admins_first)]
READS = rule_doc(STAFF_READ)
Search = Annotated[str | None, Query(max_length=100, pattern=PLAIN,
                                     description="part of the name or email, any case")]
ClientIdQ = Annotated[UUID | None, Query(description="only this client's")]
ActiveQ = Annotated[bool | None, Query(description="only active (true) or inactive (false)")]
READ = problems(401, 403, 422, 504)


def _changed(request: Request, dispatcher: Dispatcher, caller: Caller, command: Command[Any],
             response: Response) -> Any:
    """Dispatch an admin command; the changed client or user."""
    changed, position = dispatch(request, dispatcher, caller, command)
    set_position(response, position)
    return changed


def _no_content(request: Request, dispatcher: Dispatcher, caller: Caller,
                command: Command[Any]) -> Response:
    response = Response(status_code=204)
    _changed(request, dispatcher, caller, command, response)
    return response


# -- clients ----------------------------------------------------------------------------


@router.get("/clients/", response_model=Page[ClientRow], responses=READ,
            summary="List clients (staff and admins)", openapi_extra=READS)
def list_clients(request: Request, principal: StaffDep, accounts: AccountsDep,
                 page: PageDep, tier: Tier | None = None,
                 status: SubscriptionStatus | None = None, is_active: ActiveQ = None,
                 search: Search = None, wait: WaitForPosition = None) -> dict[str, Any]:
    accounts.wait(wait)
    result = accounts.view.search_clients(
        filters=ClientFilter(tier=tier, status=status, is_active=is_active, search=search),
        offset=page.offset, limit=page.page_size)
    return paginated(request, page, result.count, result.rows)


@router.post("/clients/", status_code=201, response_model=ClientOut,
             responses=problems(401, 403, 422), summary="Create a client (admins)",
             dependencies=ADMINS_FIRST, openapi_extra=rule_doc(cmd.CreateClient))
def create_client(body: ClientIn, request: Request, caller: CallerDep,
                  dispatcher: DispatcherDep, response: Response) -> ClientOut:
    return ClientOut.of(_changed(request, dispatcher, caller,
                                 cmd.CreateClient(**body.command_fields()), response))


@router.get("/clients/{client_id}/", response_model=AdminClientOut,
            responses=problems(401, 403, 404, 422, 504),
            summary="One client with its usage: users, zones, devices, storage",
            openapi_extra=READS)
def get_client(client_id: UUID, principal: StaffDep, accounts: AccountsDep,
               devices: DevicesDep, zones: ZonesDep, library: LibraryDep,
               wait: WaitForPosition = None) -> AdminClientOut:
    row = accounts.at(wait).get_client(client_id)
    if row is None:
        raise NotFound(f"client {client_id} not found")
    usage = _usage(row, accounts.view, devices.view, zones.view, library.view)
    return AdminClientOut(**row, usage=usage)


def _usage(row: dict[str, Any], accounts: AccountReads, devices_view: DeviceReads,
           zones: ZoneReads, library: LibraryReads) -> ClientUsage:
    cid = row["id"]
    devices, online = devices_view.count_devices(cid)
    return ClientUsage(
        users=accounts.search_users(filters=UserFilter(client_id=cid), offset=0,
                                    limit=1).count,
        active_users=accounts.search_users(filters=UserFilter(client_id=cid, is_active=True),
                                           offset=0, limit=1).count,
        zones=zones.list_zones(client_id=cid, offset=0, limit=1).count,
        devices=devices, devices_online=online,
        storage_used_bytes=library.storage_by_client([cid])[cid],
        storage_quota_bytes=effective_limits(
            row["subscription_tier"], row)["max_storage_gb"].value * GB,
    )


@router.patch("/clients/{client_id}/", response_model=ClientOut,
              responses=problems(401, 403, 404, 409, 422),
              summary="Change a client: details, subscription, limits, status (admins)",
              description="Contact details, the subscription (tier, period, limits) and the "
              "status are separate events (`DetailsChanged`, `SubscriptionChanged`, "
              "`StatusChanged`), all recorded with the admin as actor.",
              dependencies=ADMINS_FIRST, openapi_extra=rule_doc(cmd.ChangeClient))
def update_client(client_id: UUID, body: ClientPatch, request: Request, caller: CallerDep,
                  dispatcher: DispatcherDep, response: Response) -> ClientOut:
    return ClientOut.of(_changed(request, dispatcher, caller,
                                 cmd.ChangeClient(client_id, body.changes()), response))


@router.delete("/clients/{client_id}/", status_code=204, response_class=Response,
               responses=problems(401, 403, 404),
               summary="Cancel a client's subscription (admins; nothing is deleted)",
               description="Soft delete: the status becomes `cancelled` and its users can "
               "no longer log in. PATCH `subscription_status: active` restores it.",
               dependencies=ADMINS_FIRST, openapi_extra=rule_doc(cmd.CancelClient))
def cancel_client(client_id: UUID, request: Request, caller: CallerDep,
                  dispatcher: DispatcherDep) -> Response:
    return _no_content(request, dispatcher, caller, cmd.CancelClient(client_id))


# -- storage and devices across clients ---------------------------------------------------


@router.get("/storage/", response_model=Page[ClientStorage], responses=READ,
            summary="Storage used by each client against its quota", openapi_extra=READS)
def list_storage(request: Request, principal: StaffDep, library: LibraryDep, accounts: AccountsDep,
                 page: PageDep, client_id: ClientIdQ = None, tier: Tier | None = None,
                 status: SubscriptionStatus | None = None, search: Search = None,
                 wait: WaitForPosition = None) -> dict[str, Any]:
    accounts.wait(wait)
    clients = accounts.view.search_clients(
        filters=ClientFilter(client_id=client_id, tier=tier, status=status, search=search),
        offset=page.offset, limit=page.page_size)
    used = library.view.storage_by_client([r["id"] for r in clients.rows])
    return paginated(request, page, clients.count,
                     [ClientStorage.of(r, used[r["id"]]) for r in clients.rows])


@router.get("/devices/", response_model=Page[DeviceOut], responses=READ,
            summary="Devices of every client with their status",
            description="`is_online` in the results is live presence (Redis); the "
            "`is_online` filter uses recorded presence, which the sweeper brings in line "
            "within `PRESENCE_SWEEP_SECONDS`. `X-Wait-For-Position` is a devices position.",
            openapi_extra=READS)
def list_devices(request: Request, principal: StaffDep, devices: DevicesDep,
                 presence: PresenceDep, page: PageDep, client_id: ClientIdQ = None,
                 is_online: bool | None = None,
                 wait: WaitForPosition = None) -> dict[str, Any]:
    devices.wait(wait)
    result = devices.view.list_by_presence(
        client_id=client_id, is_online=is_online, offset=page.offset, limit=page.page_size)
    return paginated(request, page, result.count, devices_out(presence, result.rows))


# -- users ------------------------------------------------------------------------------


@router.get("/users/", response_model=Page[UserRow], responses=READ,
            summary="List users of every client, and staff (staff and admins)",
            openapi_extra=READS)
def list_users(request: Request, principal: StaffDep, accounts: AccountsDep, urls: UrlsDep,
               page: PageDep, client_id: ClientIdQ = None, role: Role | None = None,
               is_active: ActiveQ = None, search: Search = None,
               wait: WaitForPosition = None) -> dict[str, Any]:
    accounts.wait(wait)
    result = accounts.view.search_users(
        filters=UserFilter(client_id=client_id, role=role, is_active=is_active, search=search),
        offset=page.offset, limit=page.page_size)
    return paginated(request, page, result.count,
                     [UserRow.of_row(r, urls) for r in result.rows])


@router.post("/users/", status_code=201, response_model=UserOut,
             responses=problems(401, 403, 404, 409, 422),
             summary="Create a user of a client, or a staff or admin user (admins)",
             dependencies=ADMINS_FIRST, openapi_extra=rule_doc(cmd.CreateUser))
def create_user(body: UserIn, request: Request, caller: CallerDep, dispatcher: DispatcherDep,
                urls: UrlsDep, response: Response) -> UserOut:
    return UserOut.of(_changed(request, dispatcher, caller, cmd.CreateUser(**body.model_dump()),
                               response), urls)


@router.get("/users/{user_id}/", response_model=UserRow,
            responses=problems(401, 403, 404, 422, 504), summary="One user",
            openapi_extra=READS)
def get_user(user_id: UUID, principal: StaffDep, accounts: AccountsDep, urls: UrlsDep,
             wait: WaitForPosition = None) -> UserRow:
    accounts.wait(wait)
    row = accounts.view.get_user(user_id)
    if row is None:
        raise NotFound(f"user {user_id} not found")
    return UserRow.of_row(row, urls)


@router.patch("/users/{user_id}/", response_model=UserOut,
              responses=problems(401, 403, 404, 409, 422),
              summary="Change a user's profile, role or active flag (admins)",
              description="An admin cannot remove their own admin role or deactivate "
              "themselves (403).",
              dependencies=ADMINS_FIRST, openapi_extra=rule_doc(cmd.ChangeUser))
def update_user(user_id: UUID, body: UserPatch, request: Request, caller: CallerDep,
                dispatcher: DispatcherDep, urls: UrlsDep, response: Response) -> UserOut:
    return UserOut.of(_changed(request, dispatcher, caller,
                               cmd.ChangeUser(user_id, body.changes()), response),
                      urls)


@router.delete("/users/{user_id}/", status_code=204, response_class=Response,
               responses=problems(401, 403, 404),
               summary="Deactivate a user (admins; nothing is deleted)",
               dependencies=ADMINS_FIRST, openapi_extra=rule_doc(cmd.DeactivateUser))
def deactivate_user(user_id: UUID, request: Request, caller: CallerDep,
                    dispatcher: DispatcherDep) -> Response:
    return _no_content(request, dispatcher, caller, cmd.DeactivateUser(user_id))
