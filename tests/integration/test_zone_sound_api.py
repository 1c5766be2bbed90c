"""A zone's sound settings over the API: changed with PATCH, checked by the zone's
own rules (422 naming the field), shown by every zone response and read model."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from domain.sound import SOUND_DEFAULTS
from tests.integration.test_playback_api import _account


def _zone(client: TestClient, headers: dict[str, str]) -> dict[str, Any]:
    created = client.post("/api/zones/", json={"name": "Bar"}, headers=headers)
    assert created.status_code == 201, created.text
    body: dict[str, Any] = created.json()
    return body


def test_sound_settings_are_changed_and_shown_by_the_zone_and_its_state(
        client: TestClient) -> None:
    headers = {"Authorization": _account(client)["Authorization"]}
    zone = _zone(client, headers)
    assert {k: zone[k] for k in SOUND_DEFAULTS} == SOUND_DEFAULTS
    changes = {"crossfade_s": 6, "ducking": "duck", "duck_level": 20, "target_lufs": -16.5,
               "announcement_lift_lu": 4}
    patched = client.patch(f"/api/zones/{zone['id']}/", json=changes, headers=headers)
    assert patched.status_code == 200, patched.text
    assert {k: patched.json()[k] for k in changes} == changes
    wait = {**headers, "X-Wait-For-Position": patched.headers["X-Event-Position"]}
    read = client.get(f"/api/zones/{zone['id']}/", headers=wait).json()
    assert {k: read[k] for k in changes} == changes
    listed = client.get("/api/zones/", headers=headers).json()["results"]
    assert {k: listed[0][k] for k in changes} == changes
    state = client.get(f"/api/playback/state/?zone_id={zone['id']}", headers=headers).json()
    assert state["sound"] == changes


@pytest.mark.parametrize(("field", "value"), [
    ("crossfade_s", 13), ("crossfade_s", 2.5), ("ducking", "mute"), ("duck_level", -1),
    ("target_lufs", -4), ("announcement_lift_lu", 12.5), ("duck_level", "loud"),
    ("crossfade_s", True),
])
def test_a_bad_sound_setting_is_a_422_naming_the_field(client: TestClient, field: str,
                                                       value: Any) -> None:
    headers = {"Authorization": _account(client)["Authorization"]}
    zone = _zone(client, headers)
    refused = client.patch(f"/api/zones/{zone['id']}/", json={field: value}, headers=headers)
    assert refused.status_code == 422, refused.text
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert field in [e["loc"][-1] for e in refused.json()["errors"]], refused.json()
