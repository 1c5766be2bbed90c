"""`/api/health/` (the process is up) and `/api/ready/` (its servers answer)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from application.rules import PUBLIC
from interfaces.http.deps import ContainerDep, rule_doc

router = APIRouter(prefix="/api", tags=["health"])


@router.get("/health/", summary="Liveness: the process answers",
            openapi_extra=rule_doc(PUBLIC))
def health() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/ready/", summary="Readiness: PostgreSQL, Redis and projection lag",
            responses={503: {"description": "a backing service is down"}},
            openapi_extra=rule_doc(PUBLIC))
def ready(container: ContainerDep) -> JSONResponse:
    checks: dict[str, Any] = {}
    try:
        with container.accounts_view.datastore.transaction(commit=False) as curs:
            curs.execute("SELECT 1")
        checks["postgres"] = "ok"
        checks["projection_lag"] = container.projection_lag()
    except Exception as e:
        checks["postgres"] = f"unavailable: {type(e).__name__}"
    try:
        container.redis.ping()
        checks["redis"] = "ok"
    except Exception as e:
        checks["redis"] = f"unavailable: {type(e).__name__}"
    ok = checks["postgres"] == "ok" and checks["redis"] == "ok"
    body = {"status": "ready" if ok else "unavailable", "checks": checks}
    if ok:
        return JSONResponse(body)
    return JSONResponse(body, status_code=503, headers={"Retry-After": "5"})
