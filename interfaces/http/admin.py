"""`/api/admin/`: the admin panel across all clients (the seed's Admin table).

Staff and admins read; only admins change, and every change is an event of the
accounts context whose actor is the admin. Client users get 403 on every route.
Deleting never loses data: a client is cancelled, a user deactivated.
Lists read the read models; send a command's `X-Event-Position` back as
`X-Wait-For-Position` to read your own writes.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any
from uuid import UUID

from eventsourcing.application import Application
from fastapi import APIRouter, Depends, Query, Request, Response

from application.admin import AccountsAdmin, require_staff
from application.authz import Principal, require_admin
from domain.accounts import Role, SubscriptionStatus, Tier
from domain.base import NotFound
from domain.quota import GB
from infra.bootstrap import Container
from interfaces.http.admin_schemas import (
    PLAIN,
    AdminClientOut,
    ClientIn,
    ClientPatch,
    ClientStats,
    ClientStorage,
    ClientUsage,
    DeviceStats,
    Stats,
    StorageStats,
    UserIn,
    UserPatch,
    UserStats,
)
from interfaces.http.deps import (
    ContainerDep,
    PageDep,
    PrincipalDep,
    UserCtx,
    WaitForPosition,
    paginated,
    set_position,
)
from interfaces.http.devices import DeviceOut, devices_out
from interfaces.http.schemas import ClientOut, ClientRow, Page, UserOut, UserRow
from interfaces.http.schemas import problem_responses as problems
from projections.accounts import ClientFilter, UserFilter

router = APIRouter(prefix="/api/admin", tags=["admin"])


def staff_principal(principal: PrincipalDep) -> Principal:
    require_staff(principal)
    return principal


def admin_principal(principal: PrincipalDep) -> Principal:
    require_admin(principal)
    return principal


# Checked before the body is read: a client user gets 403 even for a malformed body.
StaffDep = Annotated[Principal, Depends(staff_principal)]
AdminDep = Annotated[Principal, Depends(admin_principal)]
Search = Annotated[str | None, Query(max_length=100, pattern=PLAIN,
                                     description="part of the name or email, any case")]
ClientIdQ = Annotated[UUID | None, Query(description="only this client's")]
ActiveQ = Annotated[bool | None, Query(description="only active (true) or inactive (false)")]
READ = problems(401, 403, 422, 504)


def _admin(container: Container) -> AccountsAdmin:
    return AccountsAdmin(container.accounts)


# -- clients ----------------------------------------------------------------------------


@router.get("/clients/", response_model=Page[ClientRow], responses=READ,
            summary="List clients (staff and admins)")
def list_clients(request: Request, principal: StaffDep, container: ContainerDep,
                 page: PageDep, tier: Tier | None = None,
                 status: SubscriptionStatus | None = None, is_active: ActiveQ = None,
                 search: Search = None, wait: WaitForPosition = None) -> dict[str, Any]:
    container.wait_for_accounts(wait)
    result = container.accounts_view.search_clients(
        filters=ClientFilter(tier=tier, status=status, is_active=is_active, search=search),
        offset=page.offset, limit=page.page_size)
    return paginated(request, page, result.count, result.rows)


@router.post("/clients/", status_code=201, response_model=ClientOut,
             responses=problems(401, 403, 422), summary="Create a client (admins)")
def create_client(body: ClientIn, principal: AdminDep, container: ContainerDep, ctx: UserCtx,
                  response: Response) -> ClientOut:
    client, position = _admin(container).create_client(principal, ctx, **body.command_fields())
    set_position(response, position)
    return ClientOut.of(client)


@router.get("/clients/{client_id}/", response_model=AdminClientOut,
            responses=problems(401, 403, 404, 422, 504),
            summary="One client with its usage: users, zones, devices, storage")
def get_client(client_id: UUID, principal: StaffDep, container: ContainerDep,
               wait: WaitForPosition = None) -> AdminClientOut:
    container.wait_for_accounts(wait)
    row = container.accounts_view.get_client(client_id)
    if row is None:
        raise NotFound(f"client {client_id} not found")
    return AdminClientOut(**row, usage=_usage(container, row))


def _usage(container: Container, row: dict[str, Any]) -> ClientUsage:
    cid, accounts = row["id"], container.accounts_view
    devices, online = container.devices_view.count_devices(cid)
    return ClientUsage(
        users=accounts.search_users(filters=UserFilter(client_id=cid), offset=0,
                                    limit=1).count,
        active_users=accounts.search_users(filters=UserFilter(client_id=cid, is_active=True),
                                           offset=0, limit=1).count,
        zones=container.zones_view.list_zones(client_id=cid, offset=0, limit=1).count,
        devices=devices, devices_online=online,
        storage_used_bytes=container.library_view.storage_by_client([cid])[cid],
        storage_quota_bytes=row["max_storage_gb"] * GB,
    )


@router.patch("/clients/{client_id}/", response_model=ClientOut,
              responses=problems(401, 403, 404, 409, 422),
              summary="Change a client: details, subscription, limits, status (admins)",
              description="Contact details, the subscription (tier, period, limits) and the "
              "status are separate events (`DetailsChanged`, `SubscriptionChanged`, "
              "`StatusChanged`), all recorded with the admin as actor.")
def update_client(client_id: UUID, body: ClientPatch, principal: AdminDep,
                  container: ContainerDep, ctx: UserCtx, response: Response) -> ClientOut:
    client, position = _admin(container).update_client(principal, ctx, client_id,
                                                       **body.changes())
    set_position(response, position)
    return ClientOut.of(client)


@router.delete("/clients/{client_id}/", status_code=204, response_class=Response,
               responses=problems(401, 403, 404),
               summary="Cancel a client's subscription (admins; nothing is deleted)",
               description="Soft delete: the status becomes `cancelled` and its users can "
               "no longer log in. PATCH `subscription_status: active` restores it.")
def cancel_client(client_id: UUID, principal: AdminDep, container: ContainerDep,
                  ctx: UserCtx) -> Response:
    _, position = _admin(container).cancel_client(principal, ctx, client_id)
    response = Response(status_code=204)
    set_position(response, position)
    return response


# -- storage and devices across clients ---------------------------------------------------


@router.get("/storage/", response_model=Page[ClientStorage], responses=READ,
            summary="Storage used by each client against its quota")
def list_storage(request: Request, principal: StaffDep, container: ContainerDep,
                 page: PageDep, client_id: ClientIdQ = None, tier: Tier | None = None,
                 status: SubscriptionStatus | None = None, search: Search = None,
                 wait: WaitForPosition = None) -> dict[str, Any]:
    container.wait_for_accounts(wait)
    clients = container.accounts_view.search_clients(
        filters=ClientFilter(client_id=client_id, tier=tier, status=status, search=search),
        offset=page.offset, limit=page.page_size)
    used = container.library_view.storage_by_client([r["id"] for r in clients.rows])
    return paginated(request, page, clients.count,
                     [ClientStorage.of(r, used[r["id"]]) for r in clients.rows])


@router.get("/devices/", response_model=Page[DeviceOut], responses=READ,
            summary="Devices of every client with their status",
            description="`is_online` in the results is live presence (Redis); the "
            "`is_online` filter uses recorded presence, which the sweeper brings in line "
            "within `PRESENCE_SWEEP_SECONDS`. `X-Wait-For-Position` is a devices position.")
def list_devices(request: Request, principal: StaffDep, container: ContainerDep,
                 page: PageDep, client_id: ClientIdQ = None, is_online: bool | None = None,
                 wait: WaitForPosition = None) -> dict[str, Any]:
    container.wait_for_devices(wait)
    result = container.devices_view.list_by_presence(
        client_id=client_id, is_online=is_online, offset=page.offset, limit=page.page_size)
    return paginated(request, page, result.count, devices_out(container, result.rows))


# -- users ------------------------------------------------------------------------------


@router.get("/users/", response_model=Page[UserRow], responses=READ,
            summary="List users of every client, and staff (staff and admins)")
def list_users(request: Request, principal: StaffDep, container: ContainerDep,
               page: PageDep, client_id: ClientIdQ = None, role: Role | None = None,
               is_active: ActiveQ = None, search: Search = None,
               wait: WaitForPosition = None) -> dict[str, Any]:
    container.wait_for_accounts(wait)
    result = container.accounts_view.search_users(
        filters=UserFilter(client_id=client_id, role=role, is_active=is_active, search=search),
        offset=page.offset, limit=page.page_size)
    return paginated(request, page, result.count, result.rows)


@router.post("/users/", status_code=201, response_model=UserOut,
             responses=problems(401, 403, 404, 409, 422),
             summary="Create a user of a client, or a staff or admin user (admins)")
def create_user(body: UserIn, principal: AdminDep, container: ContainerDep, ctx: UserCtx,
                response: Response) -> UserOut:
    user, position = _admin(container).create_user(principal, ctx, **body.model_dump())
    set_position(response, position)
    return UserOut.of(user)


@router.get("/users/{user_id}/", response_model=UserRow,
            responses=problems(401, 403, 404, 422, 504), summary="One user")
def get_user(user_id: UUID, principal: StaffDep, container: ContainerDep,
             wait: WaitForPosition = None) -> UserRow:
    container.wait_for_accounts(wait)
    row = container.accounts_view.get_user(user_id)
    if row is None:
        raise NotFound(f"user {user_id} not found")
    return UserRow(**row)


@router.patch("/users/{user_id}/", response_model=UserOut,
              responses=problems(401, 403, 404, 409, 422),
              summary="Change a user's profile, role or active flag (admins)",
              description="An admin cannot remove their own admin role or deactivate "
              "themselves (403).")
def update_user(user_id: UUID, body: UserPatch, principal: AdminDep, container: ContainerDep,
                ctx: UserCtx, response: Response) -> UserOut:
    user, position = _admin(container).update_user(principal, ctx, user_id, **body.changes())
    set_position(response, position)
    return UserOut.of(user)


@router.delete("/users/{user_id}/", status_code=204, response_class=Response,
               responses=problems(401, 403, 404),
               summary="Deactivate a user (admins; nothing is deleted)")
def deactivate_user(user_id: UUID, principal: AdminDep, container: ContainerDep,
                    ctx: UserCtx) -> Response:
    _, position = _admin(container).deactivate_user(principal, ctx, user_id)
    response = Response(status_code=204)
    set_position(response, position)
    return response


# -- statistics ---------------------------------------------------------------------------


@router.get("/stats/", response_model=Stats, responses=problems(401, 403, 504),
            summary="System statistics: clients, users, zones, devices, storage, events")
def stats(principal: StaffDep, container: ContainerDep,
          wait: WaitForPosition = None) -> Stats:
    container.wait_for_accounts(wait)
    view = container.accounts_view
    devices, online = container.devices_view.count_devices()
    return Stats(
        clients=ClientStats.of_counts(view.client_counts()),
        users=UserStats.of_counts(view.user_counts()),
        zones=container.zones_view.list_zones(client_id=None, offset=0, limit=1).count,
        devices=DeviceStats(total=devices, online=online, offline=devices - online),
        storage=StorageStats(used_bytes=container.library_view.storage_total()),
        events_stored=_events_stored(container),
        generated_at=datetime.now(UTC),
    )


def _events_stored(container: Container) -> dict[str, int]:
    """Rows in each application's events table (every Application the container has)."""
    apps = [v for v in vars(container).values() if isinstance(v, Application)]
    tables = {app.name: getattr(app.recorder, "events_table_name", f"{app.name}_events")
              for app in apps}
    counts = container.accounts_view.count_stored_events(tables)
    return {**counts, "total": sum(counts.values())}
