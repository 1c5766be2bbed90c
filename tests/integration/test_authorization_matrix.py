"""The authorization matrix: every HTTP operation of the OpenAPI schema and every
WebSocket message type, called by every kind of caller, answers as the rule it
documents (`x-authorization`) says.

It fails when an operation names no rule, when it has no example request here
(add one below), when a message type has no example, and when any caller gets
other than its rule's answer: 401 without a valid session, 403 for a role (or
device) that may not act, 404 for another client's object, and no refusal
(none of 401, 403, 404) for a caller the rule allows.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import fields
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from application.commands.playback import ZoneCommand
from application.rules import RULES
from infra.bootstrap import Container
from tests.integration.authz_world import PRINCIPALS, USERS, World, build_world, png
from tests.integration.conftest import AppFactory, MailCollector

Call = dict[str, Any]
Example = Callable[[World, str], Call]
REFUSALS = (401, 403, 404)


def _z(w: World, who: str) -> str:
    """The zone a creator acts on: its own client's (another client has one too)."""
    return w.ids["other_client_zone"] if who == "other_client" else w.ids["zone"]


def _upload(w: World, who: str) -> Call:
    wav = w.tmp / "matrix.wav"
    if not wav.exists():
        from tests.audio_factory import make_wav
        make_wav(wav, 1)
    return {"files": [("files", ("m.wav", wav.read_bytes(), "audio/wav"))]}


def _ann_upload(w: World, who: str) -> Call:
    body = _upload(w, who)
    return {"files": {"file": body["files"][0][1]}, "data": {"title": "Hello"}}


TUS = {"Tus-Resumable": "1.0.0"}


def _tus_create(w: World, who: str, where: str = "music") -> Call:
    return {"headers": {**TUS, "Upload-Length": "100"}}


def _tus_upload(w: World, who: str, where: str = "music") -> Call:
    """A fresh upload of the owner's client (a DELETE removes it), and tus headers."""
    created = w.http.post(f"/api/{where}/uploads/", headers={
        **w.headers("owner"), **TUS, "Upload-Length": "100"})
    assert created.status_code == 201, created.text
    return {"upload_id": created.headers["Location"].rstrip("/").rsplit("/", 1)[1],
            "headers": {**TUS, "Upload-Offset": "0",
                        "Content-Type": "application/offset+octet-stream"}}


def _tus_examples() -> dict[str, Example]:
    examples: dict[str, Example] = {}
    for where in ("music", "announcements"):
        base = f"/api/{where}/uploads/"
        examples[f"OPTIONS {base}"] = lambda w, who: {}
        examples[f"POST {base}"] = lambda w, who, where=where: _tus_create(w, who, where)
        for method in ("HEAD", "PATCH", "DELETE"):
            examples[f"{method} {base}{{upload_id}}/"] = (
                lambda w, who, where=where: _tus_upload(w, who, where))
    return examples


I = "ids"  # noqa: E741 - short for the examples below
# A zone command with no field but the zone is a route `/api/playback/<name>/` and a
# socket message: its examples need only the zone (pause, next, ...).
SIMPLE_ZONE_COMMANDS = {c.message: c for c in ZoneCommand.__subclasses__()
                        if c.message and [f.name for f in fields(c)] == ["zone_id"]}

EXAMPLES: dict[str, Example] = {
    "POST /api/auth/signup/": lambda w, who: {"json": {
        "email": f"m-{datetime.now(UTC).timestamp()}-{who}@example.com", "password":
        "correct horse battery", "name": "M", "client_name": "M Ltd"}},
    "POST /api/auth/login/": lambda w, who: {"json": {"email": w.owner.email,
                                                      "password": w.owner.password}},
    "POST /api/auth/refresh/": lambda w, who: {"json": {"refresh": w.fresh_refresh()}},
    "POST /api/auth/logout/": lambda w, who: {"json": {"refresh": w.fresh_refresh(who)}},
    "GET /api/auth/me/": lambda w, who: {},
    "PATCH /api/auth/me/": lambda w, who: {"json": {"phone": "123"}},
    "POST /api/auth/me/avatar/": lambda w, who: {
        "files": {"avatar": ("a.png", png(), "image/png")}},
    "DELETE /api/auth/me/avatar/": lambda w, who: {},
    "POST /api/auth/change-password/": lambda w, who: {"json": {
        "old_password": w.accounts[who].password if who in USERS else "x",
        "new_password": w.accounts[who].password if who in USERS else "x"}},
    "POST /api/auth/password-reset/": lambda w, who: {"json": {"email": w.owner.email}},
    "POST /api/auth/password-reset/confirm/": lambda w, who: {"json": {
        "token": w.reset_token(), "new_password": "another long password"}},
    "GET /api/users/": lambda w, who: {},
    "GET /api/users/{user_id}/": lambda w, who: {"user_id": w.owner.user_id},
    "GET /api/clients/{client_id}/": lambda w, who: {"client_id": w.owner.client_id},
    "GET /api/music/folders/": lambda w, who: {},
    "POST /api/music/folders/": lambda w, who: {"json": {"name": "New"}},
    "GET /api/music/folders/{folder_id}/": lambda w, who: {"folder_id": w.ids["folder"]},
    "PATCH /api/music/folders/{folder_id}/": lambda w, who: {"folder_id": w.ids["folder"],
                                                            "json": {"description": "d"}},
    "DELETE /api/music/folders/{folder_id}/": lambda w, who: {"folder_id": w.new_folder()},
    "POST /api/music/folders/{folder_id}/reorder/": lambda w, who: {
        "folder_id": w.ids["folder"], "json": {"track_ids": [w.ids["track"]]}},
    "POST /api/music/folders/{folder_id}/cover/": lambda w, who: {
        "folder_id": w.ids["folder"], "files": {"file": ("c.png", png(), "image/png")}},
    "POST /api/music/upload/": _upload,
    "GET /api/music/files/": lambda w, who: {},
    "GET /api/music/files/{track_id}/": lambda w, who: {"track_id": w.ids["track"]},
    "PATCH /api/music/files/{track_id}/": lambda w, who: {"track_id": w.ids["track"],
                                                         "json": {"genre": "Jazz"}},
    "DELETE /api/music/files/{track_id}/": lambda w, who: {"track_id": w.new_track()},
    "POST /api/music/files/{track_id}/cover/": lambda w, who: {
        "track_id": w.ids["track"], "files": {"file": ("c.png", png(), "image/png")}},
    "GET /api/music/search/": lambda w, who: {"params": {"q": "matrix"}},
    "GET /api/announcements/": lambda w, who: {},
    "POST /api/announcements/tts/": lambda w, who: {"json": {"text": "Hello"}},
    "POST /api/announcements/upload/": _ann_upload,
    "GET /api/announcements/{announcement_id}/": lambda w, who: {
        "announcement_id": w.ids["announcement"]},
    "PATCH /api/announcements/{announcement_id}/": lambda w, who: {
        "announcement_id": w.ids["announcement"], "json": {"title": "Closing"}},
    "DELETE /api/announcements/{announcement_id}/": lambda w, who: {
        "announcement_id": w.new_announcement()},
    "POST /api/announcements/{announcement_id}/play-instant/": lambda w, who: {
        "announcement_id": w.ids["announcement"], "json": {"zone_ids": [w.ids["zone"]]}},
    "GET /api/media/{key}": lambda w, who: {"raw": "/" + w.ids["media_path"]},
    "GET /api/zones/": lambda w, who: {},
    "POST /api/zones/": lambda w, who: {"json": {"name": "New"}},
    "GET /api/zones/{zone_id}/": lambda w, who: {"zone_id": w.ids["zone"]},
    "PATCH /api/zones/{zone_id}/": lambda w, who: {"zone_id": w.ids["zone"],
                                                  "json": {"description": "d"}},
    "DELETE /api/zones/{zone_id}/": lambda w, who: {"zone_id": w.new_zone()},
    "GET /api/playback/state/": lambda w, who: {"params": {"zone_id": w.ids["zone"]}},
    "POST /api/playback/play/": lambda w, who: {"json": {"zone_id": w.ids["zone"],
                                                         "folder_ids": [w.ids["folder"]]}},
    **{f"POST /api/playback/{name}/": (lambda w, who: {"json": {"zone_id": w.ids["zone"]}})
       for name in SIMPLE_ZONE_COMMANDS},
    "POST /api/playback/volume/": lambda w, who: {"json": {"zone_id": w.ids["zone"],
                                                           "volume": 40}},
    "POST /api/playback/seek/": lambda w, who: {"json": {"zone_id": w.ids["zone"],
                                                         "position_ms": 100}},
    "POST /api/devices/pair/": lambda w, who: {"json": {
        "code": w.pairing_code(), "device_id": f"hw-m-{datetime.now(UTC).timestamp()}",
        "name": "Paired", "device_type": "speaker"}},
    "GET /api/devices/": lambda w, who: {},
    "POST /api/devices/register/": lambda w, who: {"json": {
        "device_id": f"hw-r-{datetime.now(UTC).timestamp()}", "name": "R",
        "device_type": "speaker", "zone": _z(w, who)}},
    "GET /api/devices/{device_id}/": lambda w, who: {"device_id": w.ids["zone_device"]},
    "PATCH /api/devices/{device_id}/": lambda w, who: {"device_id": w.new_device(),
                                                      "json": {"name": "Renamed"}},
    "DELETE /api/devices/{device_id}/": lambda w, who: {"device_id": w.new_device()},
    "POST /api/devices/{device_id}/volume/": lambda w, who: {"device_id": w.new_device(),
                                                            "json": {"volume": 30}},
    "POST /api/devices/{device_id}/token/": lambda w, who: {"device_id": w.new_device()},
    "DELETE /api/devices/{device_id}/token/": lambda w, who: {"device_id": w.new_device()},
    "POST /api/devices/{device_id}/heartbeat/": lambda w, who: {
        "device_id": w.ids["zone_device"]},
    "POST /api/zones/{zone_id}/pairing-code/": lambda w, who: {"zone_id": w.ids["zone"]},
    "GET /api/zones/{zone_id}/horizon/": lambda w, who: {"zone_id": w.ids["zone"]},
    "POST /api/devices/{device_id}/plays/": lambda w, who: {
        "device_id": w.ids["zone_device"], "json": {"zone_id": w.ids["zone"], "plays": [{
            "play_id": f"m-{who}-{datetime.now(UTC).timestamp()}", "kind": "track",
            "item_id": "00000000-0000-4000-8000-000000000017", "title": "T",
            "duration_ms": 1000, "started_at": "2024-01-01T10:00:00+00:00",
            "ended_at": "2024-01-01T10:00:01+00:00", "end_reason": "natural"}]}},
    "GET /api/admin/clients/": lambda w, who: {},
    "POST /api/admin/clients/": lambda w, who: {"json": {
        "name": "New Ltd", "email": f"n-{datetime.now(UTC).timestamp()}@example.com"}},
    "GET /api/admin/clients/{client_id}/": lambda w, who: {"client_id": w.owner.client_id},
    "PATCH /api/admin/clients/{client_id}/": lambda w, who: {"client_id": w.new_client(),
                                                            "json": {"phone": "1"}},
    "DELETE /api/admin/clients/{client_id}/": lambda w, who: {"client_id": w.new_client()},
    "GET /api/admin/storage/": lambda w, who: {},
    "GET /api/admin/devices/": lambda w, who: {},
    "GET /api/admin/users/": lambda w, who: {},
    "POST /api/admin/users/": lambda w, who: {"json": {
        "email": f"u-{datetime.now(UTC).timestamp()}@example.com",
        "password": "correct horse battery", "name": "U", "role": "staff"}},
    "GET /api/admin/users/{user_id}/": lambda w, who: {"user_id": w.owner.user_id},
    "PATCH /api/admin/users/{user_id}/": lambda w, who: {"user_id": w.new_user(),
                                                        "json": {"name": "Renamed"}},
    "DELETE /api/admin/users/{user_id}/": lambda w, who: {"user_id": w.new_user()},
    "GET /api/admin/stats/": lambda w, who: {},
    "GET /api/schedules/": lambda w, who: {},
    "POST /api/schedules/": lambda w, who: {"json": w.schedule_body(_z(w, who)) if who !=
                                            "other_client" else {**w.schedule_body(_z(
                                                w, who)), "announcement_id": None,
                                                "type": "music", "end_time": "10:00:00"}},
    "GET /api/schedules/{schedule_id}/": lambda w, who: {"schedule_id": w.ids["schedule"]},
    "PATCH /api/schedules/{schedule_id}/": lambda w, who: {"schedule_id": w.ids["schedule"],
                                                          "json": {"priority": 3}},
    "DELETE /api/schedules/{schedule_id}/": lambda w, who: {"schedule_id": w.new_schedule()},
    "POST /api/schedules/{schedule_id}/toggle/": lambda w, who: {
        "schedule_id": w.ids["schedule"]},
    "GET /api/zones/{zone_id}/history/": lambda w, who: {"zone_id": w.ids["zone"]},
    "GET /api/zones/{zone_id}/state/": lambda w, who: {
        "zone_id": w.ids["zone"], "params": {"at": datetime.now(UTC).isoformat()}},
    "GET /api/reports/plays/": lambda w, who: {},
    "GET /api/reports/summary/": lambda w, who: {"params": {"group": "track"}},
    "GET /api/schedules/{schedule_id}/decisions/": lambda w, who: {
        "schedule_id": w.ids["schedule"]},
    "GET /api/health/": lambda w, who: {},
    "GET /api/ready/": lambda w, who: {},
    "GET /metrics": lambda w, who: {},
    "GET /api/music/files/{track_id}/waveform/": lambda w, who: {"track_id": w.ids["track"]},
    "GET /api/announcements/{announcement_id}/waveform/": lambda w, who: {
        "announcement_id": w.ids["announcement"]},
}

EXAMPLES.update(_tus_examples())

MESSAGES: dict[str, dict[str, Any]] = {
    **{name: {} for name in SIMPLE_ZONE_COMMANDS}, "volume": {"volume": 33},
    "seek": {"position_ms": 10}, "ended": {"play_seq": 0}, "heartbeat": {},
}


def expected(rule: str, who: str, has_target: bool) -> set[int | str]:
    """What the rule answers `who`: "ok" (any answer but a refusal) or a status."""
    if who == "revoked":
        return {"ok", 401} if rule == "public" else {401}
    if rule == "public":
        return {"ok"}
    if who == "anonymous":
        return {401}
    device = who.endswith("device")
    if rule == "zone-control" and who == "zone_device":
        return {"ok"}
    if rule in ("device-presence", "zone-follow") and who == "zone_device":
        return {"ok"}
    if device:
        return {403}
    if rule in ("staff-read", "admin"):
        return {"ok"} if who == "admin" or (rule == "staff-read" and who == "staff") else {403}
    if rule == "signed-in":
        return {"ok"}
    if rule == "client-member":
        return {403} if who in ("staff", "admin") else {"ok"}
    if who == "other_client":
        return {404} if has_target else {"ok"}
    if rule in ("tenant-write", "zone-control", "device-presence") and who == "staff":
        return {403}
    return {"ok"}


@pytest.fixture(scope="module")
def world(make_app: AppFactory, smtp_server: tuple[MailCollector, int], container: Container,
          tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    collector, port = smtp_server
    # Its own mail goes to the SMTP server (for reset tokens); the session's
    # workers process its uploads, so both keep media in one folder.
    _, http = make_app(smtp_host="127.0.0.1", smtp_port=port,
                       media_dir=container.settings.media_root,
                       rate_limit_login="1000000/minute")
    world = build_world(http, container, tmp_path_factory.mktemp("matrix"), collector)
    yield world
    world.clean_up()


def operations(http: TestClient) -> list[tuple[str, str, dict[str, Any]]]:
    schema = http.get("/api/openapi.json").json()
    return [(method.upper(), path, op) for path, item in schema["paths"].items()
            for method, op in item.items()]


def test_every_operation_names_a_rule_and_has_an_example(world: World) -> None:
    ops = operations(world.http)
    unruled = [f"{m} {p}" for m, p, op in ops if op.get("x-authorization") not in RULES]
    assert not unruled, f"operations without an authorization rule: {unruled}"
    missing = [f"{m} {p}" for m, p, _ in ops if f"{m} {p}" not in EXAMPLES]
    assert not missing, f"add an example request to EXAMPLES for: {missing}"
    assert len(ops) >= 80


def test_every_operation_answers_every_caller_as_its_rule_says(world: World) -> None:
    wrong = []
    for method, path, op in operations(world.http):
        rule = op["x-authorization"]
        for who in PRINCIPALS:
            status = _call(world, method, path, who)
            allowed = expected(rule, who, _has_target(path))
            if not ((status in allowed) or ("ok" in allowed and status not in REFUSALS)):
                wrong.append(f"{method} {path} as {who}: {status}, rule {rule} says {allowed}")
    assert not wrong, "\n".join(wrong)


def _has_target(path: str) -> bool:
    """Whether the operation acts on one object (in its path, or the zone named
    in a playback command's body or query)."""
    return "{" in path or path.startswith("/api/playback/")


def _call(w: World, method: str, path: str, who: str) -> int:
    call = dict(EXAMPLES[f"{method} {path}"](w, who))
    url = call.pop("raw", None) or path.format(**{k: call.pop(k) for k in list(call)
                                                 if "{" + k + "}" in path})
    headers = {**w.headers(who), **call.pop("headers", {})}
    response = w.http.request(method, url, headers=headers, **call)
    assert response.status_code < 500 and response.status_code != 429, (
        f"{method} {path} as {who}: {response.status_code} {response.text}")
    body = response.json() if "json" in response.headers.get("content-type", "") \
        and response.content else None  # a HEAD answer has no body
    if who in USERS and isinstance(body, dict) and isinstance(body.get("access"), str) \
            and path.endswith("change-password/"):
        # The caller's session carries on with the new pair.
        w.tokens[who] = w.accounts[who].access = body["access"]
        w.accounts[who].refresh = body["refresh"]
    return response.status_code


def test_every_message_type_answers_every_caller_as_its_rule_says(
        world: World, container: Container) -> None:
    messages = container.dispatcher.messages()
    assert set(messages) == set(MESSAGES), "add an example to MESSAGES for every message type"
    follow = {"anonymous": 4401, "revoked": 4401, "other_client": 4404,
              "other_zone_device": 4403}
    wrong = []
    for who in PRINCIPALS:
        url = f"/ws/playback/{world.ids['zone']}/?token={world.tokens.get(who, '')}"
        with world.http.websocket_connect(url) as ws:
            if who in follow:
                with pytest.raises(WebSocketDisconnect) as closed:
                    ws.receive_json()
                if closed.value.code != follow[who]:
                    wrong.append(f"connect as {who}: {closed.value.code}")
                continue
            assert ws.receive_json()["type"] == "zone.state"
            for kind, fields in MESSAGES.items():
                ws.send_json({"type": kind, **fields})
                reply = _reply(ws)
                allowed = expected(messages[kind].rule.name, who, True)
                status = reply.get("status", "ok") if reply["type"] == "error" else "ok"
                if not (status in allowed or ("ok" in allowed and status not in REFUSALS)):
                    wrong.append(f"{kind} as {who}: {reply}, rule says {allowed}")
    assert not wrong, "\n".join(wrong)


def _reply(ws: Any) -> dict[str, Any]:
    while True:
        message: dict[str, Any] = ws.receive_json()
        if message["type"] != "zone.state":
            return message
