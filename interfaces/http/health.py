"""`/api/health/` (liveness: the process answers) and `/api/ready/` (readiness).

A process supervisor or liveness probe asks `/api/health/`: it fails only when the
process cannot answer at all, and restarting the process is then the cure. A load
balancer (or readiness probe) asks `/api/ready/`: 503 while PostgreSQL or Redis
does not answer, or while a projection runner or leader loop of this process has
stopped or keeps failing, so traffic goes to another replica meanwhile.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from application.rules import PUBLIC
from infra.bootstrap import Container
from interfaces.http.deps import ContainerDep, rule_doc

router = APIRouter(prefix="/api", tags=["health"])


@router.get("/health/", summary="Liveness: the process answers (for a process supervisor)",
            openapi_extra=rule_doc(PUBLIC))
def health() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/ready/",
            summary="Readiness: PostgreSQL, Redis, projection runners and leader loops "
                    "(for a load balancer)",
            responses={503: {"description": "a backing service is down, or a projection "
                                            "runner or leader loop has stopped or keeps failing"}},
            openapi_extra=rule_doc(PUBLIC))
def ready(container: ContainerDep) -> JSONResponse:
    checks: dict[str, Any] = {}
    checks["postgres"] = _postgres(container, checks)
    checks["redis"] = _redis(container)
    runners = [s.status() for s in [*container.projections, *container.loops]]
    checks["runners"] = {s.name: s.as_dict() for s in runners}
    down = [s.name for s in runners if not s.healthy]
    ok = checks["postgres"] == "ok" and checks["redis"] == "ok" and not down
    body = {"status": "ready" if ok else "unavailable", "checks": checks, "down": down}
    if ok:
        return JSONResponse(body)
    return JSONResponse(body, status_code=503, headers={"Retry-After": "5"})


def _postgres(container: Container, checks: dict[str, Any]) -> str:
    try:
        with container.accounts_view.datastore.transaction(commit=False) as curs:
            curs.execute("SELECT 1")
        checks["projection_lag"] = container.projection_lag()
    except Exception as e:
        return f"unavailable: {type(e).__name__}"
    return "ok"


def _redis(container: Container) -> str:
    try:
        container.redis.ping()
    except Exception as e:
        return f"unavailable: {type(e).__name__}"
    return "ok"
