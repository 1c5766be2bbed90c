"""Helpers for the browser tests: Debian's chromium, screenshots, seeded accounts.

Screenshots (and each page's console log) go to `tests/artifacts/browser/`, on
success and on failure, so a failing run can be looked at afterwards.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlparse

import httpx
from playwright.sync_api import Browser, Page, Playwright, sync_playwright

from tests.audio_factory import mp3_bytes

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts" / "browser"
PASSWORD = "a-long-password"
T = TypeVar("T")


def launch(playwright: Playwright) -> Browser:
    return playwright.chromium.launch(
        executable_path=CHROMIUM, headless=True, timeout=30_000,
        args=["--no-sandbox", "--autoplay-policy=no-user-gesture-required",
              "--disable-background-networking", "--disable-dev-shm-usage",
              "--mute-audio"],
    )


class Pages:
    """The test's pages: JS errors and console lines recorded, screenshots saved."""

    def __init__(self, browser: Browser, base_url: str) -> None:
        self.browser, self.base_url = browser, base_url
        self.pages: dict[str, Page] = {}
        self.logs: dict[str, list[str]] = {}
        self.errors: list[str] = []
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        for old in [*ARTIFACTS.glob("*.png"), *ARTIFACTS.glob("*.log")]:
            old.unlink()
        print(f"browser screenshots: {ARTIFACTS}")

    def open(self, name: str) -> Page:
        context = self.browser.new_context(base_url=self.base_url,
                                           viewport={"width": 1280, "height": 900})
        context.set_default_timeout(15_000)
        page = context.new_page()
        log = self.logs.setdefault(name, [])
        page.on("console", lambda m: log.append(f"{m.type}: {m.text}"))
        page.on("response", lambda r: r.status >= 400 and log.append(
            f"http {r.status}: {r.request.method} {r.url.split('?')[0]}"))
        page.on("pageerror", lambda e: self.errors.append(f"{name}: {e}"))
        self.pages[name] = page
        return page

    def shot(self, name: str, page_name: str) -> None:
        page = self.pages[page_name]
        if not page.is_closed():
            page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)

    @contextmanager
    def on_failure(self) -> Iterator[None]:
        """Screenshot every page if the block fails; always keep the console logs."""
        try:
            yield
        except BaseException:
            for name in self.pages:
                try:
                    self.shot(f"FAILED-{name}", name)
                except Exception as e:  # the browser may be the thing that broke
                    print(f"no failure screenshot of {name}: {e}")
            raise
        finally:
            for name, lines in self.logs.items():
                (ARTIFACTS / f"{name}-console.log").write_text("\n".join(lines) + "\n")


@contextmanager
def browser_pages(base_url: str) -> Iterator[Pages]:
    """A headless chromium and the test's pages on it: screenshots of every page if
    the block fails, console logs kept either way; the browser closed after."""
    with sync_playwright() as playwright:
        browser = launch(playwright)
        pages = Pages(browser, base_url)
        with closing(browser), pages.on_failure():
            yield pages


def eventually(check: Callable[[], T | None], timeout: float = 10.0,
               interval: float = 0.1, what: str = "condition") -> T:
    """Poll `check` until it returns something truthy (bounded)."""
    deadline = time.monotonic() + timeout
    last: T | None = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"{what} not met within {timeout} s (last: {last!r})")


def media_path(url: str | None) -> str:
    """The path of a signed media URL (the signature and expiry change per frame)."""
    return urlparse(url or "").path


def audio_of(page: Page, role: str = "") -> dict[str, Any]:
    """The player's audible <audio> element (the announcement while one plays, else
    the music; `role` another), with the page's clock at the moment read."""
    state: dict[str, Any] = page.evaluate("""(role) => {
        const a = document.querySelector(role ? `audio[data-role=${role}]`
                                              : 'audio[data-audible]');
        return {src: a.currentSrc || a.src, time: a.currentTime, paused: a.paused,
                ready: a.readyState, now: Date.now()};
    }""", role)
    return state


def server_position_ms(state: dict[str, Any], now_ms: float) -> float:
    """Where the zone's music is at `now_ms` (epoch ms) by its state."""
    position = float(state["position_ms"])
    ann = state["announcement"]
    frozen = ann is not None and ann.get("ducking") != "duck"
    if state["music_playing"] and not frozen and state["position_at"]:
        at = _epoch_ms(state["position_at"])
        position += now_ms - at
    return position


def _epoch_ms(iso: str) -> float:
    from datetime import datetime

    return datetime.fromisoformat(iso).timestamp() * 1000


def sign_up(http: httpx.Client) -> tuple[str, dict[str, str]]:
    email = f"web-{uuid.uuid4().hex[:8]}@example.com"
    body = http.post("/api/auth/signup/", json={
        "email": email, "password": PASSWORD, "name": "Wendy", "client_name": "Web Shop"})
    assert body.status_code == 201, body.text
    return email, {"Authorization": f"Bearer {body.json()['access']}"}


def seed(http: httpx.Client, auth: dict[str, str]) -> dict[str, str]:
    """A zone, an empty music folder and a short ready announcement."""
    zone = http.post("/api/zones/", json={"name": "Lobby"}, headers=auth)
    folder = http.post("/api/music/folders/", json={"name": "Morning"}, headers=auth)
    ann = http.post("/api/announcements/upload/", headers=auth, data={"title": "Closing soon"},
                    files=[("file", ("closing.mp3", mp3_bytes(3.0, freq=880), "audio/mpeg"))])
    for response in (zone, folder, ann):
        assert response.status_code == 201, response.text
    http.get("/api/zones/", headers={**auth, "X-Wait-For-Position": zone.headers[
        "X-Event-Position"]})
    http.get("/api/announcements/", headers={**auth, "X-Wait-For-Position": ann.headers[
        "X-Event-Position"]})
    return {"zone": zone.json()["id"], "folder": folder.json()["id"],
            "announcement": ann.json()["id"], "announcement_path": media_path(ann.json()["file"])}
