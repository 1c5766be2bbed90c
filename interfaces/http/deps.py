"""FastAPI dependencies: the container, the caller, command context, paging.

Every token is checked by the session guard (`container.guard`): a token of an
ended session, a deactivated user or a revoked device is refused here, on
every request. Commands go to the dispatcher (`dispatch`), which authorizes
them; queries name the rule they enforce with `rule_doc(...)`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, TypeVar
from uuid import UUID

from fastapi import Depends, Header, Query, Request, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool
from structlog.contextvars import bind_contextvars

from application.authz import Caller, PermissionDenied, Principal, Unauthenticated, caller_key
from application.dispatch import Command
from application.rules import Rule
from infra.bootstrap import Container

_bearer = HTTPBearer(auto_error=False, description="The `access` token from login or signup")


async def get_container(request: Request) -> Container:
    # async (no I/O): a sync dependency would cost a hop to the threadpool
    container: Container = request.app.state.container
    return container


ContainerDep = Annotated[Container, Depends(get_container)]


CredentialsDep = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]


async def current_caller(request: Request, container: ContainerDep,
                         credentials: CredentialsDep) -> Caller:
    """The user or device the bearer token stands for (None: no token).

    The session state is read from Redis on the event loop; only when some of it
    is not cached is the check finished in a thread (it reads the event store)."""
    if credentials is None:
        return None
    if credentials.scheme.lower() != "bearer":
        raise Unauthenticated("use `Authorization: Bearer <token>`")
    caller = await _check(request, container, credentials.credentials)
    if caller is not None:
        bind_contextvars(actor=caller_key(caller))  # on every line logged for the request
    return caller


async def _check(request: Request, container: Container, token: str) -> Caller:
    guard = container.guard
    claims = guard.claims(token)
    reader = getattr(request.app.state, "auth_reader", None)
    entries = await reader.get_many(guard.keys(claims)) if reader else [None]
    if all(entry is not None for entry in entries):
        return guard.check(claims, entries)
    if reader is None:
        return await run_in_threadpool(guard.caller, token)
    return await run_in_threadpool(guard.check, claims, entries)


CallerDep = Annotated[Caller, Depends(current_caller)]


async def current_principal(caller: CallerDep) -> Principal:
    """A signed-in user (a device token is not enough)."""
    if caller is None:
        raise Unauthenticated("authentication credentials were not provided")
    if not isinstance(caller, Principal):
        raise PermissionDenied("this needs a user's access token, not a device token")
    return caller


PrincipalDep = Annotated[Principal, Depends(current_principal)]


R = TypeVar("R")


def dispatch(request: Request, container: Container, caller: Caller, command: Command[R]) -> R:
    """Hand a command to the dispatcher, as the caller, in this request."""
    return container.dispatcher.dispatch(caller, command, request_id(request))


def rule_doc(rule: Rule | type[Command[Any]]) -> dict[str, Any]:
    """`openapi_extra` naming the authorization rule an operation enforces: a
    command's own rule, or the rule a query applies."""
    found = rule if isinstance(rule, Rule) else rule.rule
    return {"x-authorization": found.name}


def request_id(request: Request) -> str:
    return str(request.state.request_id)


def set_position(response: Response, position: int | None) -> None:
    """Tell the client how far the event store got, for read-your-writes."""
    if position is not None:
        response.headers["X-Event-Position"] = str(position)


WaitForPosition = Annotated[
    int | None,
    Header(
        alias="X-Wait-For-Position", ge=0,
        description="Wait (bounded) until read models have processed this event position "
        "(the `X-Event-Position` of an earlier command response).",
    ),
]


# Far beyond any real list, and small enough that the row offset fits PostgreSQL's bigint.
MAX_PAGE = 1_000_000


@dataclass(frozen=True)
class PageParams:
    page: int
    page_size: int

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.page_size


async def page_params(
    page: Annotated[int, Query(ge=1, le=MAX_PAGE, description="1-based page number")] = 1,
    page_size: Annotated[int, Query(ge=1, le=200, description="items per page")] = 50,
) -> PageParams:
    return PageParams(page, page_size)


PageDep = Annotated[PageParams, Depends(page_params)]


def paginated(
    request: Request, params: PageParams, count: int, results: list[Any]
) -> dict[str, Any]:
    """DRF's page shape: count, next, previous, results."""
    def link(page: int) -> str:
        return str(request.url.include_query_params(page=page, page_size=params.page_size))

    has_next = params.offset + len(results) < count
    return {
        "count": count,
        "next": link(params.page + 1) if has_next else None,
        "previous": link(params.page - 1) if params.page > 1 else None,
        "results": results,
    }


def uuid_or_404(value: str) -> UUID:
    from domain.base import NotFound

    try:
        return UUID(value)
    except ValueError:
        raise NotFound(f"{value} not found") from None
