"""`/api/health/` (liveness: the process answers) and `/api/ready/` (readiness).

A process supervisor or liveness probe asks `/api/health/`: it fails only when the
process cannot answer at all, and restarting the process is then the cure. A load
balancer (or readiness probe) asks `/api/ready/`: 503 while PostgreSQL or Redis
does not answer, while a projection runner or leader loop of this process has
stopped or keeps failing, or while a read model of this release is still being
built (a release that changed a view, started on an older database: the old
release's replicas keep answering meanwhile), so traffic goes elsewhere.
"""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from application.rules import PUBLIC
from application.services import SystemStatus
from interfaces.http.deps import SystemDep, rule_doc

router = APIRouter(prefix="/api", tags=["health"])


class RunnerState(BaseModel):
    state: Literal["starting", "standby", "running", "failing", "stopped"]
    failures: int
    last_error: str | None


class BuildingView(BaseModel):
    """A read model of this release not yet caught up since its version changed."""

    view: str
    version: int
    application: str
    position: int = Field(description="the last event it has applied")
    head: int = Field(description="its application's last event")
    behind: int


class ReadinessChecks(BaseModel):
    postgres: str = Field(description='"ok", or "unavailable: <error>"')
    redis: str = Field(description='"ok", or "unavailable: <error>"')
    runners: dict[str, RunnerState] = Field(
        description="each projection runner and leader loop of this process")
    projection_lag: dict[str, int] | None = Field(
        None, description="events each read model is behind (absent without PostgreSQL)")
    building: dict[str, BuildingView] | None = Field(
        None, description="read models being built (absent without PostgreSQL)")


class Readiness(BaseModel):
    status: Literal["ready", "unavailable"]
    checks: ReadinessChecks
    down: list[str] = Field(description="runners and loops stopped or failing")
    building: list[str] = Field(description="read models still being built")


@router.get("/health/", summary="Liveness: the process answers (for a process supervisor)",
            openapi_extra=rule_doc(PUBLIC))
def health() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/ready/",
            summary="Readiness: PostgreSQL, Redis, projection runners, leader loops and "
                    "read models (for a load balancer)",
            responses={200: {"model": Readiness},
                       503: {"model": Readiness,
                             "description": "a backing service is down, a projection runner "
                                            "or leader loop has stopped or keeps failing, or "
                                            "a read model of this release is being built"}},
            openapi_extra=rule_doc(PUBLIC))
def ready(system: SystemDep) -> JSONResponse:
    checks: dict[str, Any] = {}
    checks["postgres"] = _postgres(system, checks)
    checks["redis"] = _redis(system)
    runners = system.runners()
    checks["runners"] = {s.name: s.as_dict() for s in runners}
    down = [s.name for s in runners if not s.healthy]
    building = list(checks.get("building", {}))
    ok = checks["postgres"] == "ok" and checks["redis"] == "ok" and not down and not building
    body = {"status": "ready" if ok else "unavailable", "checks": checks, "down": down,
            "building": building}
    if ok:
        return JSONResponse(body)
    return JSONResponse(body, status_code=503, headers={"Retry-After": "5"})


def _postgres(system: SystemStatus, checks: dict[str, Any]) -> str:
    try:
        system.ping_postgres()
        checks["projection_lag"] = system.projection_lag()
        checks["building"] = system.building()
    except Exception as e:
        return f"unavailable: {type(e).__name__}"
    return "ok"


def _redis(system: SystemStatus) -> str:
    try:
        system.ping_redis()
    except Exception as e:
        return f"unavailable: {type(e).__name__}"
    return "ok"
