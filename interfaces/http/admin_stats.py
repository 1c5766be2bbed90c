"""`/api/admin/stats/`: system statistics for staff (clients, users, zones, devices,
storage, events stored)."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter

from application.services import SystemStatus
from interfaces.http.admin import READS, StaffDep
from interfaces.http.admin_schemas import (
    ClientStats,
    DeviceStats,
    Stats,
    StorageStats,
    UserStats,
)
from interfaces.http.deps import (
    AccountsDep,
    DevicesDep,
    LibraryDep,
    SystemDep,
    WaitForPosition,
    ZonesDep,
)
from interfaces.http.schemas import problem_responses as problems

stats_router = APIRouter(prefix="/api/admin", tags=["admin"])


@stats_router.get("/stats/", response_model=Stats, responses=problems(401, 403, 504),
            summary="System statistics: clients, users, zones, devices, storage, events",
            openapi_extra=READS)
def stats(principal: StaffDep, accounts: AccountsDep, devices: DevicesDep, zones: ZonesDep,
          library: LibraryDep, system: SystemDep, wait: WaitForPosition = None) -> Stats:
    view = accounts.at(wait)
    total, online = devices.view.count_devices()
    return Stats(
        clients=ClientStats.of_counts(view.client_counts()),
        users=UserStats.of_counts(view.user_counts()),
        zones=zones.view.list_zones(client_id=None, offset=0, limit=1).count,
        devices=DeviceStats(total=total, online=online, offline=total - online),
        storage=StorageStats(used_bytes=library.view.storage_total()),
        events_stored=_events_stored(system),
        generated_at=datetime.now(UTC),
    )


def _events_stored(system: SystemStatus) -> dict[str, int]:
    """Rows in each application's events table, and all of them."""
    counts = system.events_stored()
    return {**counts, "total": sum(counts.values())}
