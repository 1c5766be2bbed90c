"""One-line names refuse characters that hide or disguise text, naming the field and
the character; what they keep is NFC-normalised. Emails are compared after NFKC."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from tests.integration.accounts_helpers import (
    PASSWORD,
    Account,
    assert_problem,
    login,
    signup,
    unique_email,
)

REFUSED = {
    "a C0 control (bell)": "\x07",
    "DEL": "\x7f",
    "a C1 control (CSI)": "\x9b",
    "a C1 control (next line)": "\x85",
    "a right-to-left override": "\u202e",
    "a left-to-right embedding": "\u202a",
    "a right-to-left isolate": "\u2067",
    "a right-to-left mark": "\u200f",
    "an Arabic letter mark": "\u061c",
    "a zero-width space": "\u200b",
    "a zero-width joiner": "\u200d",
    "a word joiner": "\u2060",
    "a byte order mark": "\ufeff",
    "a line separator": "\u2028",
}

Send = Callable[[TestClient, Account, str], httpx.Response]


def new_zone(client: TestClient, account: Account, name: str) -> httpx.Response:
    return client.post("/api/zones/", json={"name": name}, headers=account.auth)


def new_folder(client: TestClient, account: Account, name: str) -> httpx.Response:
    return client.post("/api/music/folders/", json={"name": name, "type": "music"},
                       headers=account.auth)


def rename_me(client: TestClient, account: Account, name: str) -> httpx.Response:
    return client.patch("/api/auth/me/", json={"name": name}, headers=account.auth)


def new_business(client: TestClient, _: Account, name: str) -> httpx.Response:
    return client.post("/api/auth/signup/", json={
        "email": unique_email(), "password": PASSWORD, "name": "Ann", "client_name": name})


ROUTES: dict[str, tuple[Send, str]] = {
    "zone": (new_zone, "body.name"),
    "folder": (new_folder, "body.name"),
    "profile": (rename_me, "body.name"),
    "signup": (new_business, "body.client_name"),
}


@pytest.fixture(scope="module")
def account(client: TestClient) -> Account:
    return signup(client)


@pytest.mark.parametrize("route", ROUTES)
@pytest.mark.parametrize("kind", REFUSED)
def test_a_name_with_a_hiding_character_is_refused_naming_field_and_character(
        client: TestClient, account: Account, route: str, kind: str) -> None:
    send, field = ROUTES[route]
    char = REFUSED[kind]

    detail = assert_problem(send(client, account, f"Staff{char}Room"), 422)["detail"]

    assert field in detail, detail
    assert f"U+{ord(char):04X}" in detail, detail


def test_the_message_names_the_character_and_what_it_is(
        client: TestClient, account: Account) -> None:
    detail = assert_problem(new_folder(client, account, "Staff\u202eslaes"), 422)["detail"]

    assert detail == ("body.name: U+202E (RIGHT-TO-LEFT OVERRIDE) is a bidi control, "
                      "which a one-line text cannot contain")


def schedule_named(client: TestClient, account: Account, name: str) -> httpx.Response:
    return client.post("/api/schedules/", headers=account.auth, json={
        "name": name, "type": "music", "start_time": "08:00:00", "end_time": "20:00:00",
        "zone_ids": [str(uuid.uuid4())]})


def device_named(client: TestClient, account: Account, name: str) -> httpx.Response:
    return client.post("/api/devices/register/", headers=account.auth, json={
        "device_id": f"hw-{uuid.uuid4().hex[:8]}", "name": name, "device_type": "speaker",
        "zone": str(uuid.uuid4())})


def announcement_titled(client: TestClient, account: Account, title: str) -> httpx.Response:
    return client.post("/api/announcements/upload/", headers=account.auth,
                       data={"title": title}, files={"file": ("a.wav", b"RIFF", "audio/wav")})


@pytest.mark.parametrize(("send", "field"), [
    (schedule_named, "body.name"), (device_named, "body.name"),
    (announcement_titled, "body.title")])
def test_schedules_devices_and_announcements_refuse_a_bidi_override_too(
        client: TestClient, account: Account, send: Send, field: str) -> None:
    detail = assert_problem(send(client, account, "Lobby\u202e"), 422)["detail"]

    assert field in detail and "U+202E" in detail, detail


def test_what_a_name_keeps_is_nfc_normalised(client: TestClient, account: Account) -> None:
    decomposed = "Cafe\u0301 Terrace"  # e + combining acute accent

    zone = new_zone(client, account, decomposed)
    folder = new_folder(client, account, decomposed)

    assert zone.status_code == 201 and folder.status_code == 201, (zone.text, folder.text)
    assert zone.json()["name"] == folder.json()["name"] == "Caf\u00e9 Terrace"


@pytest.mark.parametrize("name", ["مقهى الحي", "Zoë's Bar 🎵", "東京 ロビー", "Family 👪"])
def test_names_in_any_script_without_hidden_characters_are_kept_as_they_are(
        client: TestClient, account: Account, name: str) -> None:
    response = new_folder(client, account, name)

    assert response.status_code == 201, response.text
    assert response.json()["name"] == name


def fullwidth(text: str) -> str:
    """ASCII letters, digits and '-' as their fullwidth forms (NFKC maps them back)."""
    return "".join(chr(ord(c) + 0xFEE0) if c.isalnum() or c == "-" else c for c in text)


def test_an_email_written_in_fullwidth_letters_is_the_same_account(
        client: TestClient) -> None:
    account = signup(client)
    local, domain = account.email.split("@")
    lookalike = f"{fullwidth(local.upper())}@{domain}"
    assert lookalike != account.email

    logged_in = login(client, lookalike)
    impostor: dict[str, Any] = {"email": lookalike, "password": PASSWORD, "name": "Eve",
                                "client_name": "Eve's"}
    taken = client.post("/api/auth/signup/", json=impostor)

    assert logged_in.user_id == account.user_id
    assert_problem(taken, 409)
