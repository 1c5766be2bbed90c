"""FastAPI dependencies: the ports a route uses, the caller, command context, paging.

A route asks for the ports it uses (`ZonesDep`, `DispatcherDep`, ...): each is
looked up by its key (application/services.py) in the ports the composition
root provided (`app.state.ports`). Every token is checked by the session guard:
a token of an ended session, a deactivated user or a revoked device is refused
here, on every request. Commands go to the dispatcher (`dispatch`), which
authorizes them; queries name the rule they enforce with `rule_doc(...)`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar
from uuid import UUID

from fastapi import Depends, Header, Query, Request, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool
from structlog.contextvars import bind_contextvars

from application import services
from application.authz import Caller, PermissionDenied, Principal, Unauthenticated, caller_key
from application.dispatch import Command, Dispatcher
from application.loudness import LoudnessCache
from application.ports import BlobStorage, Catalog, LocalFiles, Presence, RateLimits, Tokens
from application.queries import (
    AccountReads,
    DeviceReads,
    HistoryReads,
    LibraryReads,
    ReadModel,
    ScheduleReads,
    ZoneReads,
)
from application.resumable import ResumableUploads
from application.rules import Rule
from application.services import InterfaceSettings, MediaUrls, Port, SystemStatus, ZoneTimeline
from application.sessions import SessionGuard

T = TypeVar("T")
_bearer = HTTPBearer(auto_error=False, description="The `access` token from login or signup")
_PROVIDERS: dict[Port[Any], Callable[[Request], Awaitable[Any]]] = {}


def provided(port: Port[T]) -> Callable[[Request], Awaitable[T]]:
    """The dependency that gives `port` (one per port: FastAPI caches it per request)."""
    found = _PROVIDERS.get(port)
    if found is None:
        # async (no I/O): a sync dependency would cost a hop to the threadpool
        async def provide(request: Request) -> Any:
            return request.app.state.ports[port]

        found = _PROVIDERS[port] = provide
    return found


DispatcherDep = Annotated[Dispatcher, Depends(provided(services.DISPATCHER))]
GuardDep = Annotated[SessionGuard, Depends(provided(services.SESSIONS))]
TokensDep = Annotated[Tokens, Depends(provided(services.TOKENS))]
RateLimitsDep = Annotated[RateLimits, Depends(provided(services.RATE_LIMITS))]
SettingsDep = Annotated[InterfaceSettings, Depends(provided(services.SETTINGS))]
StorageDep = Annotated[BlobStorage, Depends(provided(services.STORAGE))]
UrlsDep = Annotated[MediaUrls, Depends(provided(services.MEDIA_URLS))]
LocalFilesDep = Annotated[LocalFiles | None, Depends(provided(services.LOCAL_FILES))]
SystemDep = Annotated[SystemStatus, Depends(provided(services.SYSTEM))]
AccountsDep = Annotated[ReadModel[AccountReads], Depends(provided(services.ACCOUNTS))]
LibraryDep = Annotated[ReadModel[LibraryReads], Depends(provided(services.LIBRARY))]
CatalogDep = Annotated[Catalog, Depends(provided(services.CATALOG))]
UploadsDep = Annotated[ResumableUploads, Depends(provided(services.UPLOADS))]
ZonesDep = Annotated[ReadModel[ZoneReads], Depends(provided(services.ZONES))]
HistoryDep = Annotated[ReadModel[HistoryReads], Depends(provided(services.HISTORY))]
TimelineDep = Annotated[ZoneTimeline, Depends(provided(services.TIMELINE))]
LoudnessDep = Annotated[LoudnessCache, Depends(provided(services.LOUDNESS))]
DevicesDep = Annotated[ReadModel[DeviceReads], Depends(provided(services.DEVICES))]
PresenceDep = Annotated[Presence, Depends(provided(services.PRESENCE))]
SchedulesDep = Annotated[ReadModel[ScheduleReads], Depends(provided(services.SCHEDULES))]
CredentialsDep = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]


async def current_caller(request: Request, guard: GuardDep,
                         credentials: CredentialsDep) -> Caller:
    """The user or device the bearer token stands for (None: no token).

    The session state is read from Redis on the event loop; only when some of it
    is not cached is the check finished in a thread (it reads the event store)."""
    if credentials is None:
        return None
    if credentials.scheme.lower() != "bearer":
        raise Unauthenticated("use `Authorization: Bearer <token>`")
    caller = await _check(request, guard, credentials.credentials)
    if caller is not None:
        bind_contextvars(actor=caller_key(caller))  # on every line logged for the request
    return caller


async def _check(request: Request, guard: SessionGuard, token: str) -> Caller:
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


def dispatch(request: Request, dispatcher: Dispatcher, caller: Caller,
             command: Command[R]) -> R:
    """Hand a command to the dispatcher, as the caller, in this request."""
    return dispatcher.dispatch(caller, command, request_id(request))


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
