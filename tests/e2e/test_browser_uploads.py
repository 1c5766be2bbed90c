"""The console's uploads in a real browser: resumable (tus, the vendored
tus-js-client) when that library loads, one plain POST when it does not."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Page, Route, expect

from tests.audio_factory import make_mp3
from tests.e2e.browser_support import PASSWORD, browser_pages, sign_up
from tests.e2e.conftest import free_port, wait_until_up


@pytest.fixture
def base_url(spawn: Any, process_env: dict[str, str]) -> str:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    spawn("run", "--port", str(port), env={**process_env, "PUBLIC_URL": base})
    wait_until_up(base)
    return base


def upload_in_library(page: Page, email: str, path: Path) -> list[str]:
    """Log in, upload `path` from the library; the upload requests the page made."""
    sent: list[str] = []
    page.on("request", lambda r: "/upload" in r.url and sent.append(
        f"{r.method} {r.url.split('/api/')[1]}"))
    page.goto("/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("link", name="Library").click()
    page.get_by_test_id("upload-input").set_input_files(str(path))
    expect(page.get_by_test_id("upload-status")).to_have_text("Uploaded 1.")
    assert page.get_by_test_id("upload-progress").evaluate("p => p.value") == 1
    expect(page.locator("tr[data-status=ready]", has_text=path.stem)).to_have_count(
        1, timeout=20_000)
    return sent


@pytest.mark.timeout(120)
def test_the_console_uploads_through_tus_and_falls_back_to_a_plain_post(
        base_url: str, tmp_path: Path) -> None:
    with httpx.Client(base_url=base_url, timeout=20) as http:
        email, _ = sign_up(http)
    with browser_pages(base_url) as pages:
        resumable = pages.open("resumable")
        sent = upload_in_library(resumable, email, make_mp3(
            tmp_path / "Resumable Song.mp3", 5, title="Resumable Song"))
        assert "POST music/uploads/" in sent
        assert any(s.startswith("PATCH music/uploads/") for s in sent), sent

        plain = pages.open("plain")

        def refuse(route: Route) -> None:
            route.abort()

        plain.route("**/vendor/tus.min.js", refuse)
        sent = upload_in_library(plain, email, make_mp3(
            tmp_path / "Plain Song.mp3", 4, title="Plain Song"))
        assert sent == ["POST music/upload/"], sent
        assert pages.errors == [], pages.errors
