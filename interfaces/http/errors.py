"""Every error becomes an RFC 9457 problem document, mapped in this one place."""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

from eventsourcing.persistence import InterfaceError, OperationalError
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from psycopg import OperationalError as PsycopgOperationalError
from psycopg_pool import PoolTimeout
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from starlette.exceptions import HTTPException as StarletteHTTPException

from application.authz import PermissionDenied, Unauthenticated
from application.common import ConcurrencyConflict
from application.ports import RateLimited
from application.queries import ReadModelLagging
from application.resumable import UploadOffsetConflict
from application.rules import RULES
from application.versions import NewerStoredShape
from domain.accounts import (
    AccountDisabled,
    EmailAlreadyRegistered,
    InvalidCredentials,
    InvalidLimits,
    InvalidTimezone,
    InvalidToken,
    WeakPassword,
    WrongPassword,
)
from domain.base import DomainError, NotFound
from domain.device import (
    DeviceDeleted,
    HardwareIdTaken,
    InvalidDevice,
    InvalidPlayReport,
    PairingCodeInvalid,
    TooManyDevices,
)
from domain.device import InvalidVolume as InvalidDeviceVolume
from domain.library import (
    DuplicateMedia,
    FolderTypeMismatch,
    InvalidMedia,
    InvalidOrder,
    MediaTooLarge,
    StorageQuotaExceeded,
    SystemFolderProtected,
    TrackDeleted,
    UnsupportedMediaType,
)
from domain.plan import PlanLimitReached
from domain.playback import InvalidSeek, InvalidVolume, PlaybackError, QueueEmpty, ZoneInactive
from domain.schedule import SchedulingError

log = logging.getLogger(__name__)

# Most specific first: the first matching class decides the status.
STATUS: list[tuple[type[Exception], int]] = [
    (NotFound, 404),
    (EmailAlreadyRegistered, 409),
    (ConcurrencyConflict, 409),
    (InvalidCredentials, 401),
    (InvalidToken, 401),
    (Unauthenticated, 401),
    (AccountDisabled, 403),
    (PermissionDenied, 403),
    (WrongPassword, 400),
    (WeakPassword, 422),
    (InvalidTimezone, 422),
    (InvalidLimits, 422),
    (RateLimited, 429),
    (UnsupportedMediaType, 415),
    (InvalidMedia, 422),
    (MediaTooLarge, 413),
    (StorageQuotaExceeded, 413),
    (DuplicateMedia, 409),
    (UploadOffsetConflict, 409),
    (FolderTypeMismatch, 422),
    (InvalidOrder, 422),
    (TrackDeleted, 404),
    (SystemFolderProtected, 403),
    (TooManyDevices, 409),
    (PlanLimitReached, 409),
    (HardwareIdTaken, 409),
    (InvalidDeviceVolume, 422),
    (InvalidDevice, 422),
    (InvalidPlayReport, 422),
    (PairingCodeInvalid, 400),
    (DeviceDeleted, 404),
    (QueueEmpty, 409),
    (ZoneInactive, 409),
    (InvalidSeek, 422),
    (InvalidVolume, 422),
    (PlaybackError, 422),
    (SchedulingError, 422),
    (DomainError, 400),
]

PROBLEM = "application/problem+json"
UNAVAILABLE = (OperationalError, InterfaceError, PsycopgOperationalError, PoolTimeout,
               RedisConnectionError, RedisTimeoutError)


def problem(status: int, detail: str, headers: dict[str, str] | None = None,
            **extra: Any) -> JSONResponse:
    phrase = HTTPStatus(status).phrase
    body = {
        "type": f"https://sync2gear.dev/problems/{phrase.lower().replace(' ', '-')}",
        "title": phrase, "status": status, "detail": detail, **extra,
    }
    return JSONResponse(body, status_code=status, headers=headers, media_type=PROBLEM)


def status_of(exc: Exception) -> int:
    return next(status for cls, status in STATUS if isinstance(exc, cls))


PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object", "required": ["type", "title", "status", "detail"],
    "properties": {
        "type": {"type": "string"}, "title": {"type": "string"},
        "status": {"type": "integer"}, "detail": {"type": "string"},
        "errors": {"type": "array", "items": {"type": "object"},
                   "description": "what was wrong with each field (or file)"},
    },
}


def _problem_doc(description: str, **extra: Any) -> dict[str, Any]:
    return {"description": description, "content": {
        PROBLEM: {"schema": {"$ref": "#/components/schemas/Problem"}}}, **extra}


def document_problems(schema: dict[str, Any]) -> dict[str, Any]:
    """Describe the errors as they are sent: problem documents (not FastAPI's
    `application/json` 422), 401 where a token is needed, 503 when a backing
    service is down."""
    schema.setdefault("components", {}).setdefault("schemas", {})["Problem"] = PROBLEM_SCHEMA
    retry_after = {"Retry-After": {"description": "seconds to wait",
                                   "schema": {"type": "integer"}}}
    for item in schema.get("paths", {}).values():
        for operation in item.values():
            responses = operation.setdefault("responses", {})
            if "422" in responses:
                responses["422"] = _problem_doc("Invalid input (`errors` names the fields)")
            if "requestBody" in operation:
                responses.setdefault("400", _problem_doc("The body could not be parsed"))
            if operation.get("security"):
                responses.setdefault("401", _problem_doc("Missing or invalid credentials"))
            rule = RULES.get(operation.get("x-authorization", ""))
            if rule is not None:
                who = f"**Who may call:** {rule.summary} (rule `{rule.name}`)."
                operation["description"] = "\n\n".join(
                    filter(None, (operation.get("description"), who)))
            if "health" not in operation.get("tags", ()):
                responses.setdefault("503", _problem_doc(
                    "A backing service (PostgreSQL, Redis) is unavailable", headers=retry_after))
            for response in responses.values():
                problem_content = response.get("content", {}).get(PROBLEM)
                if problem_content is not None and not problem_content.get("schema"):
                    problem_content["schema"] = {"$ref": "#/components/schemas/Problem"}
    return schema


def install_error_handlers(app: FastAPI) -> None:
    build_openapi = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = document_problems(build_openapi())
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]

    @app.exception_handler(DomainError)
    async def domain_error(_: Request, exc: DomainError) -> JSONResponse:
        status = status_of(exc)
        headers = {}
        if isinstance(exc, RateLimited):
            headers["Retry-After"] = str(exc.retry_after)
        if status == 401:
            headers["WWW-Authenticate"] = "Bearer"
        if status == 422:
            loc = ["body", exc.field] if exc.field else ["body"]
            return problem(status, exc.detail, headers, errors=[{"loc": loc, "msg": exc.detail}])
        return problem(status, exc.detail, headers)

    @app.exception_handler(RequestValidationError)
    async def invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {"loc": list(e.get("loc", ())), "msg": e.get("msg", "")} for e in exc.errors()
        ]
        detail = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in errors)
        return problem(422, detail or "invalid request", errors=errors)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        return problem(exc.status_code, str(exc.detail), dict(exc.headers or {}))

    @app.exception_handler(ReadModelLagging)
    async def lagging(_: Request, exc: ReadModelLagging) -> JSONResponse:
        return problem(504, str(exc), {"Retry-After": "1"})

    for cls in UNAVAILABLE:
        app.add_exception_handler(cls, _unavailable)

    @app.exception_handler(NewerStoredShape)
    async def newer_release(_: Request, exc: NewerStoredShape) -> JSONResponse:
        # During a rolling upgrade: this replica is older than the data; nothing was
        # saved (the command failed while loading), and a newer replica can answer.
        log.warning("refused, data of a newer release: %s", exc)
        return problem(503, exc.detail, {"Retry-After": "5"})

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return problem(500, "internal error; it has been logged")


async def _unavailable(_: Request, exc: Exception) -> JSONResponse:
    log.warning("backing service unavailable: %s", exc)
    return problem(503, "a backing service is unavailable; try again shortly",
                   {"Retry-After": "5"})
