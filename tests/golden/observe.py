"""What anyone can read of a golden store through the HTTP API, in a comparable form.

`make_store` writes this into facts.json; a later release, started on the
restored store, must read the same. Signed URLs (they expire) become whether
there is one; times are compared as instants (a server's time zone setting
changes how they are written, not what they are); live presence (Redis, not
part of a store) is left out. Fields a later release adds are ignored
(`shaped_like`).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from tests.golden.api import Api

MEDIA_URL = re.compile(r"^https?://[^/]+/api/media/")
INSTANT = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}")
LIVE = {"is_online", "last_seen", "server_time"}


def normalise(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: normalise(v) for k, v in sorted(value.items()) if k not in LIVE}
    if isinstance(value, list):
        return [normalise(v) for v in value]
    if isinstance(value, str) and MEDIA_URL.match(value):
        return "<signed url>"
    if isinstance(value, str) and INSTANT.match(value):
        return datetime.fromisoformat(value).astimezone(UTC).isoformat()
    return value


def observe(owner: Api, admin: Api, zone_id: str, client_id: str) -> dict[str, Any]:
    """Everything the client's owner (and an admin, for the client) can list."""
    state = owner.get(f"/api/playback/state/?zone_id={zone_id}")
    seen = {
        "zone_state": state,
        "zone": owner.get(f"/api/zones/{zone_id}/"),
        "history": owner.pages(f"/api/zones/{zone_id}/history/?page_size=200"),
        "plays": owner.pages(f"/api/reports/plays/?zone_id={zone_id}&page_size=200"),
        "schedules": owner.pages("/api/schedules/?page_size=200"),
        "folders": owner.pages("/api/music/folders/?page_size=200"),
        "tracks": owner.pages("/api/music/files/?page_size=200"),
        "announcements": owner.pages("/api/announcements/?page_size=200"),
        "devices": owner.pages("/api/devices/?page_size=200"),
        "users": owner.pages("/api/users/?page_size=200"),
        "client": admin.get(f"/api/admin/clients/{client_id}/"),
    }
    return {k: normalise(_sorted(v)) for k, v in seen.items()}


def shaped_like(value: Any, recorded: Any) -> Any:
    """`value` with only the fields `recorded` has (recursively): fields a later
    release adds to the API are no difference; a field gone or changed is."""
    if isinstance(value, dict) and isinstance(recorded, dict):
        return {k: shaped_like(value[k], recorded[k]) if k in value else "<missing>"
                for k in recorded}
    if isinstance(value, list) and isinstance(recorded, list) and len(value) == len(recorded):
        return [shaped_like(v, r) for v, r in zip(value, recorded, strict=True)]
    return value


def _sorted(value: Any) -> Any:
    """Lists whose order is no promise of the API, in one order."""
    if isinstance(value, list) and value and isinstance(value[0], dict) and "id" in value[0] \
            and "version" not in value[0] and "started_at" not in value[0]:
        return sorted(value, key=lambda row: str(row["id"]))
    return value


def decisions(history: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The zone's schedule decisions, from its history."""
    return [{k: e["changes"][k] for k in ("schedule_id", "action", "slot", "outcome")}
            for e in history if e["type"] == "ScheduleDecided"]
