"""Commands are rate limited per caller, over HTTP and WebSocket alike (issue 12,
finding 5: 150 volume changes in 1.1 s were all carried out). The limit lives
in the dispatcher, so both transports count against one budget."""

from __future__ import annotations

from fastapi.testclient import TestClient

from infra.bootstrap import Container
from tests.integration.accounts_helpers import signup
from tests.integration.conftest import next_reply


def test_a_caller_sending_commands_too_fast_gets_429_over_http_and_websocket(
        limited: tuple[Container, TestClient]) -> None:
    _, http = limited
    owner = signup(http)
    zone_id = http.post("/api/zones/", json={"name": "Z"}, headers=owner.auth).json()["id"]
    statuses = [http.post("/api/playback/volume/", headers=owner.auth, json={
        "zone_id": zone_id, "volume": v}).status_code for v in range(10, 14)]
    assert statuses == [200] * 4  # with the zone's creation: five commands
    refused = http.post("/api/playback/volume/", headers=owner.auth,
                        json={"zone_id": zone_id, "volume": 20})
    assert refused.status_code == 429, refused.text
    assert int(refused.headers["Retry-After"]) >= 1
    with http.websocket_connect(f"/ws/playback/{zone_id}/?token={owner.access}") as ws:
        ws.receive_json()
        ws.send_json({"type": "volume", "volume": 21})
        reply = next_reply(ws)
        assert (reply["type"], reply["status"]) == ("error", 429)
        assert reply["retry_after"] >= 1
    other = signup(http)  # another caller has a budget of its own
    assert http.post("/api/zones/", json={"name": "Y"}, headers=other.auth).status_code == 201


def test_refused_commands_count_too(limited: tuple[Container, TestClient]) -> None:
    """Probing other clients' zones is limited like any command."""
    _, http = limited
    owner, prober = signup(http), signup(http)
    zone_id = http.post("/api/zones/", json={"name": "Z"}, headers=owner.auth).json()["id"]
    statuses = [http.post("/api/playback/pause/", headers=prober.auth,
                          json={"zone_id": zone_id}).status_code for _ in range(6)]
    assert statuses == [404] * 5 + [429]
