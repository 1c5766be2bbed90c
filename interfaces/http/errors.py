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

from application.authz import PermissionDenied
from application.common import ConcurrencyConflict
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
    TrackDeleted,
    UnsupportedMediaType,
)
from domain.playback import InvalidSeek, InvalidVolume, PlaybackError, QueueEmpty, ZoneInactive
from domain.schedule import SchedulingError
from infra.bootstrap import ReadModelLagging
from infra.ratelimit import RateLimited

log = logging.getLogger(__name__)

# Most specific first: the first matching class decides the status.
STATUS: list[tuple[type[Exception], int]] = [
    (NotFound, 404),
    (EmailAlreadyRegistered, 409),
    (ConcurrencyConflict, 409),
    (InvalidCredentials, 401),
    (InvalidToken, 401),
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
    (FolderTypeMismatch, 422),
    (InvalidOrder, 422),
    (TrackDeleted, 404),
    (TooManyDevices, 409),
    (HardwareIdTaken, 409),
    (InvalidDeviceVolume, 422),
    (InvalidDevice, 422),
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

UNAVAILABLE = (OperationalError, InterfaceError, PsycopgOperationalError, PoolTimeout,
               RedisConnectionError, RedisTimeoutError)


class Unauthenticated(Exception):
    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


def problem(status: int, detail: str, headers: dict[str, str] | None = None,
            **extra: Any) -> JSONResponse:
    phrase = HTTPStatus(status).phrase
    body = {
        "type": f"https://sync2gear.dev/problems/{phrase.lower().replace(' ', '-')}",
        "title": phrase, "status": status, "detail": detail, **extra,
    }
    return JSONResponse(body, status_code=status, headers=headers,
                        media_type="application/problem+json")


def status_of(exc: Exception) -> int:
    return next(status for cls, status in STATUS if isinstance(exc, cls))


def install_error_handlers(app: FastAPI) -> None:
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

    @app.exception_handler(Unauthenticated)
    async def unauthenticated(_: Request, exc: Unauthenticated) -> JSONResponse:
        return problem(401, exc.detail, {"WWW-Authenticate": "Bearer"})

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

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return problem(500, "internal error; it has been logged")


async def _unavailable(_: Request, exc: Exception) -> JSONResponse:
    log.warning("backing service unavailable: %s", exc)
    return problem(503, "a backing service is unavailable; try again shortly",
                   {"Retry-After": "5"})
