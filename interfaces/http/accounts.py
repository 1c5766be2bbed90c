"""`/api/users/` and `/api/clients/`: read the accounts of one's own client.

Client users see their own client and its users; staff and admins see all.
Objects of another client answer 404, as if they did not exist.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from application.authz import ensure_visible, tenant_filter, visible_row
from application.rules import TENANT_READ
from domain.base import NotFound
from interfaces.http.deps import (
    AccountsDep,
    PageDep,
    PrincipalDep,
    UrlsDep,
    WaitForPosition,
    paginated,
    rule_doc,
    uuid_or_404,
)
from interfaces.http.schemas import ClientRow, Page, UserRow, problem_responses

router = APIRouter(prefix="/api", tags=["accounts"])


@router.get("/users/", response_model=Page[UserRow], responses=problem_responses(401),
            summary="Users of the caller's client (all users for staff and admins)",
            openapi_extra=rule_doc(TENANT_READ))
def list_users(request: Request, principal: PrincipalDep, accounts: AccountsDep, urls: UrlsDep,
               page: PageDep, wait: WaitForPosition = None) -> dict[str, Any]:
    accounts.wait(wait)
    result = accounts.view.list_users(
        client_id=tenant_filter(principal), offset=page.offset, limit=page.page_size
    )

    return paginated(request, page, result.count,
                     [UserRow.of_row(r, urls) for r in result.rows])


@router.get("/users/{user_id}/", response_model=UserRow, responses=problem_responses(401, 404),
            summary="One user", openapi_extra=rule_doc(TENANT_READ))
def get_user(user_id: str, principal: PrincipalDep, accounts: AccountsDep, urls: UrlsDep,
             wait: WaitForPosition = None) -> UserRow:
    accounts.wait(wait)
    uid = uuid_or_404(user_id)
    row = visible_row(principal, accounts.view.get_user(uid), "user", uid)
    return UserRow.of_row(row, urls)


@router.get("/clients/{client_id}/", response_model=ClientRow,
            responses=problem_responses(401, 404), summary="One client (business)",
            openapi_extra=rule_doc(TENANT_READ))
def get_client(client_id: str, principal: PrincipalDep, accounts: AccountsDep,
               wait: WaitForPosition = None) -> ClientRow:
    accounts.wait(wait)
    cid = uuid_or_404(client_id)
    ensure_visible(principal, cid, "client", cid)
    row = accounts.view.get_client(cid)
    if row is None:
        raise NotFound(f"client {cid} not found")
    return ClientRow(**row)
