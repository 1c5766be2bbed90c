"""Helpers for the library and announcement route tests: uploads, polling, signed URLs."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any
from uuid import UUID

import httpx
from fastapi.testclient import TestClient

from infra.bootstrap import Container
from tests.integration.accounts_helpers import Account

PUBLIC_URL = "http://127.0.0.1:8000"
READY_TIMEOUT = 15.0

FileSpec = tuple[str, bytes, str]  # (filename, content, declared content type)


def upload_music(client: TestClient, account: Account, *files: FileSpec,
                 folder_id: str | None = None) -> httpx.Response:
    data = {"folder_id": folder_id} if folder_id else None
    return client.post("/api/music/upload/", headers=account.auth, data=data,
                       files=[("files", spec) for spec in files])


def upload_track(client: TestClient, account: Account, spec: FileSpec,
                 folder_id: str | None = None) -> tuple[dict[str, Any], int]:
    """Upload one music file that must be accepted; its track and the event position."""
    response = upload_music(client, account, spec, folder_id=folder_id)
    assert response.status_code == 201, response.text
    body = response.json()
    assert len(body["created"]) == 1, body
    return body["created"][0], int(response.headers["X-Event-Position"])


def wait_until_done(client: TestClient, account: Account, url: str,
                    position: int | None = None,
                    timeout: float = READY_TIMEOUT) -> dict[str, Any]:
    """Poll an item's URL until its status is no longer `processing`.

    The first read waits for the read model to reach `position` (the command's).
    """
    deadline = time.monotonic() + timeout
    headers = account.waiting(position) if position else account.auth
    while True:
        response = client.get(url, headers=headers)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        if body["status"] != "processing":
            return body
        assert time.monotonic() < deadline, f"{url} still processing after {timeout} s"
        time.sleep(0.1)


def wait_for_track(client: TestClient, account: Account, track_id: str,
                   position: int | None = None) -> dict[str, Any]:
    return wait_until_done(client, account, f"/api/music/files/{track_id}/", position)


def local_path(url: str) -> str:
    """A signed URL of local storage as a path for the TestClient (same app)."""
    assert url.startswith(PUBLIC_URL + "/api/media/"), url
    return url[len(PUBLIC_URL):]


def fetch(client: TestClient, url: str, **headers: str) -> httpx.Response:
    return client.get(local_path(url), headers=headers)


def stored_files(root: Path, client_id: str, *, waveforms: bool = False) -> set[Path]:
    """Every file local storage holds for one client (waveforms, written by the
    background job at its own pace, only when asked for)."""
    folder = root / "clients" / client_id
    found = {p for p in folder.rglob("*") if p.is_file()} if folder.exists() else set()
    return found if waveforms else {p for p in found if p.parent.name != "waveforms"}


def used_bytes(container: Container, account: Account) -> int:
    return container.library.used_bytes(UUID(account.client_id))


def listed_ids(client: TestClient, account: Account, url: str,
               position: int | None = None) -> list[str]:
    headers = account.waiting(position) if position else account.auth
    response = client.get(url, headers=headers)
    assert response.status_code == 200, response.text
    return [row["id"] for row in response.json()["results"]]
