"""The socket's clock exchange (issue 17): `{"type": "time", "t0"}` is answered at
once with the server's receive and send times, outside the command rate limit,
with a budget of its own."""

from __future__ import annotations

import time

from fastapi.testclient import TestClient

from infra.bootstrap import Container
from interfaces.ws import TIME_BURST
from tests.integration.accounts_helpers import signup
from tests.integration.conftest import next_reply


def test_a_clock_exchange_is_answered_with_server_times_between_send_and_receipt(
        limited: tuple[Container, TestClient]) -> None:
    _, http = limited
    owner = signup(http)
    zone_id = http.post("/api/zones/", json={"name": "Z"}, headers=owner.auth).json()["id"]
    with http.websocket_connect(f"/ws/playback/{zone_id}/?token={owner.access}") as ws:
        ws.receive_json()
        t0 = time.time() * 1000
        ws.send_json({"type": "time", "t0": t0})
        reply = next_reply(ws)
        t3 = time.time() * 1000
        assert reply["type"] == "time" and reply["t0"] == t0
        assert t0 - 1 <= reply["t1"] <= reply["t2"] <= t3 + 1  # one clock here
        for bad in ("soon", None, True):
            ws.send_json({"type": "time", "t0": bad})
            error = next_reply(ws)
            assert (error["type"], error["of"], error["status"]) == ("error", "time", 422)


def test_a_burst_of_exchanges_spends_no_command_budget_and_has_its_own_limit(
        limited: tuple[Container, TestClient]) -> None:
    _, http = limited
    owner = signup(http)
    zone_id = http.post("/api/zones/", json={"name": "Z"}, headers=owner.auth).json()["id"]
    with http.websocket_connect(f"/ws/playback/{zone_id}/?token={owner.access}") as ws:
        ws.receive_json()
        for i in range(int(TIME_BURST)):
            ws.send_json({"type": "time", "t0": i})
            assert next_reply(ws)["type"] == "time"
        ws.send_json({"type": "time", "t0": 99})
        refused = next_reply(ws)
        assert (refused["type"], refused["status"], refused["retry_after"]) == ("error", 429, 1)
        ws.send_json({"type": "volume", "volume": 30})  # the command budget is untouched
        assert next_reply(ws) == {"type": "ack", "of": "volume"}


def test_a_socket_refused_admission_gets_no_clock_answer(
        limited: tuple[Container, TestClient]) -> None:
    _, http = limited
    owner = signup(http)
    zone_id = http.post("/api/zones/", json={"name": "Z"}, headers=owner.auth).json()["id"]
    with http.websocket_connect(f"/ws/playback/{zone_id}/?token=nope") as ws:
        message = ws.receive()
        assert message["type"] == "websocket.close" and message["code"] == 4401
