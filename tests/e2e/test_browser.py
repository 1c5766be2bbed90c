"""The web console and the web player in a real browser (Debian's chromium).

The pages and every module they import are served, outside the API schema. Then
one API process; the console logs in, uploads a generated MP3, starts a zone and
shows it playing; a second browser context pairs the web player with a code from
the console and follows the zone: the same file at the server's position, an
instant announcement in between, then the music again; it survives a dropped
WebSocket. Screenshots: tests/artifacts/browser/.
"""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from playwright.sync_api import Page, WebSocketRoute, expect

from tests.audio_factory import make_mp3, mp3_bytes
from tests.e2e.browser_support import (
    PASSWORD,
    Pages,
    audio_of,
    browser_pages,
    eventually,
    media_path,
    seed,
    server_position_ms,
    sign_up,
)
from tests.e2e.conftest import free_port, wait_until_up

TOLERANCE_MS = 2000


def test_pages_and_their_assets_are_served_outside_the_api_schema(client: TestClient) -> None:
    for path, script in (("/", "console.js"), ("/player", "player.js")):
        page = client.get(path)
        assert page.status_code == 200
        assert page.headers["content-type"].startswith("text/html")
        assert "script-src 'self'" in page.headers["content-security-policy"]
        assert f'src="/static/js/{script}"' in page.text
    console_modules: set[str] = set()
    assert_modules_resolve(client, "/static/js/console.js", console_modules)
    assert len(console_modules) >= 10  # the views are imported lazily, and found too
    assert_modules_resolve(client, "/static/js/player.js", set())
    assert client.get("/static/css/app.css").headers["content-type"].startswith("text/css")
    for bad in ("/static/index.html", "/static/..%2Fhttp%2Fweb.py", "/static/nope.js"):
        assert client.get(bad).status_code == 404, bad
    paths = client.get("/api/openapi.json").json()["paths"]
    assert "/api/zones/" in paths
    assert not [p for p in paths if not p.startswith("/api/") and p != "/metrics"]


def assert_modules_resolve(client: TestClient, path: str, seen: set[str]) -> None:
    """Every ES module the page imports (statically or lazily) is served as JavaScript."""
    if path in seen:
        return
    seen.add(path)
    response = client.get(path)
    assert response.status_code == 200, path
    assert "javascript" in response.headers["content-type"], path
    for name in re.findall(r'(?:from|import\()\s*"\./([\w-]+\.js)"', response.text):
        assert_modules_resolve(client, f"/static/js/{name}", seen)


@pytest.fixture
def base_url(spawn: Any, process_env: dict[str, str]) -> str:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    spawn("run", "--port", str(port), env={**process_env, "PUBLIC_URL": base})
    wait_until_up(base)
    return base


@pytest.mark.timeout(120)
def test_console_plays_a_zone_and_the_web_player_follows_it_through_an_announcement(
    base_url: str, tmp_path: Path
) -> None:
    with httpx.Client(base_url=base_url, timeout=20) as http:
        email, auth = sign_up(http)
        ids = seed(http, auth)
        with browser_pages(base_url) as pages:
            console = pages.open("console")
            log_in(console, email)
            upload_song(console, tmp_path / "song.mp3")
            pages.shot("1-library-uploaded", "console")
            start_zone(console)
            pages.shot("2-console-playing", "console")
            code = pairing_code(console)

            player = pages.open("player")
            drops = route_sockets(player)
            pair_player(player, code)
            state = follows_music(player, http, auth, ids["zone"])
            pages.shot("3-player-following", "player")

            announce(console)
            pages.shot("4-console-announcing", "console")
            hears_announcement(player, ids["announcement_path"])
            pages.shot("5-player-announcement", "player")
            follows_music(player, http, auth, ids["zone"], path=media_path(
                state["current"]["url"]))
            pages.shot("6-player-resumed", "player")

            reconnects_after_a_drop(player, drops, http, auth, ids["zone"])
            device_shows_online(console)
            pages.shot("7-console-device-online", "console")
            other_views_render(console, pages)
            assert pages.errors == [], pages.errors


DRAWN = re.compile(r"^[1-9][0-9]*$")  # a waveform drawn from that many peaks


def log_in(page: Page, email: str) -> None:
    page.goto("/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_test_id("zone-card")).to_have_count(1)
    expect(page.get_by_test_id("zone-live")).to_have_text("live")


def upload_song(page: Page, path: Path) -> None:
    make_mp3(path, 45, title="Browser Song", artist="Test Artist", album="E2E")
    page.get_by_role("link", name="Library").click()
    page.get_by_role("link", name="Morning (0)").click()
    expect(page.get_by_text("Upload music into Morning")).to_be_visible()
    page.get_by_test_id("upload-input").set_input_files(str(path))
    expect(page.get_by_test_id("upload-status")).to_have_text("Uploaded 1.")
    progress = page.get_by_test_id("upload-progress")
    assert progress.evaluate("p => p.value") == 1
    # Tags are read in the background; the list refreshes itself until then.
    expect(page.locator("tr[data-status=ready]")).to_contain_text("Browser Song",
                                                                   timeout=20_000)
    expect(page.get_by_test_id("folders")).to_contain_text("Morning (1)")
    # Measured in the background too: its waveform shows in the list once known.

    def waveform_listed() -> bool | None:
        page.get_by_role("link", name="Morning (1)").click()
        return page.get_by_test_id("track-waveform").count() == 1 or None
    eventually(waveform_listed, timeout=20, interval=1.0,
               what="the track's waveform in the library")
    expect(page.get_by_test_id("track-waveform")).to_have_attribute("data-points", DRAWN)


def start_zone(page: Page) -> None:
    page.get_by_role("link", name="Zones").click()
    card = page.get_by_test_id("zone-card")
    card.get_by_label("Morning (1)").check()
    card.get_by_test_id("play-folders").click()
    expect(card.get_by_test_id("now-title")).to_have_text("Browser Song")
    expect(card.get_by_test_id("now-artist")).to_have_text("Test Artist")
    bar = card.get_by_test_id("now-progress")
    first = float(bar.get_attribute("aria-valuenow") or 0)
    later = eventually(lambda: _moved(bar, first), timeout=5, what="progress bar moving")
    assert 500 <= later - first <= 5000
    assert abs(float(bar.get_attribute("aria-valuemax") or 0) - 45_000) < 500
    expect(card.get_by_test_id("now-waveform")).to_have_attribute("data-points", DRAWN)


def _moved(bar: Any, first: float) -> float | None:
    now = float(bar.get_attribute("aria-valuenow") or 0)
    return now if now - first >= 1000 else None


def pairing_code(page: Page) -> str:
    card = page.get_by_test_id("zone-card")
    card.get_by_text("Devices", exact=True).click()
    card.get_by_test_id("pair-device").click()
    code = card.get_by_test_id("pairing-code").inner_text().strip()
    assert len(code) >= 6
    return code


def route_sockets(page: Page) -> list[WebSocketRoute]:
    """Pass the player's sockets through, keeping a handle to cut them."""
    routes: list[WebSocketRoute] = []

    def handler(route: WebSocketRoute) -> None:
        route.connect_to_server()
        routes.append(route)

    page.route_web_socket("**/ws/playback/**", handler)
    return routes


def pair_player(page: Page, code: str) -> None:
    page.goto("/player")
    page.get_by_test_id("pair-code").fill(code)
    page.get_by_label("Name of this player").fill("Lobby browser")
    page.get_by_role("button", name="Pair").click()
    expect(page.get_by_test_id("player-status")).to_have_text("live")
    expect(page.locator("#zone-name")).to_have_text("Lobby")


def follows_music(page: Page, http: httpx.Client, auth: dict[str, str], zone_id: str,
                  path: str | None = None) -> dict[str, Any]:
    """The <audio> plays the zone's current track, near the server's position."""

    def in_step() -> dict[str, Any] | None:
        audio = audio_of(page)
        state = http.get(f"/api/playback/state/?zone_id={zone_id}", headers=auth).json()
        if state["announcement"] is not None or not state["music_playing"]:
            return None
        drift = abs(audio["time"] * 1000 - server_position_ms(state, audio["now"]))
        same = media_path(audio["src"]) == media_path(state["current"]["url"])
        playing = not audio["paused"] and audio["time"] > 0
        if same and playing and drift < TOLERANCE_MS:
            print(f"player drift from the server position: {drift:.0f} ms")
            return state
        return None

    state = eventually(in_step, timeout=10, interval=0.25, what="player following the music")
    assert media_path(state["current"]["url"]) == f"/api/media/{state['current']['media_key']}"
    assert path is None or media_path(state["current"]["url"]) == path
    return state


def announce(page: Page) -> None:
    page.get_by_role("link", name="Announcements").click()
    row = page.locator("tr", has_text="Closing soon")
    row.get_by_test_id("play-now").click()
    expect(page.get_by_test_id("announce-status")).to_contain_text("Playing “Closing soon”")


def hears_announcement(page: Page, path: str) -> None:
    def switched() -> dict[str, Any] | None:
        audio = audio_of(page)
        return audio if media_path(audio["src"]) == path and not audio["paused"] else None

    started = time.monotonic()
    eventually(switched, timeout=8, interval=0.05, what="player switching to the announcement")
    print(f"player on the announcement {1000 * (time.monotonic() - started):.0f} ms after "
          "the console showed it playing")
    expect(page.get_by_test_id("now-announcement")).to_have_text(
        "Announcement: Closing soon")


def reconnects_after_a_drop(page: Page, drops: list[WebSocketRoute], http: httpx.Client,
                            auth: dict[str, str], zone_id: str) -> None:
    """The socket is cut; the player reconnects by itself and follows a seek made meanwhile."""
    before = len(drops)
    drops[-1].close(code=1011, reason="network drop")
    expect(page.get_by_test_id("player-status")).not_to_have_text("live", timeout=5_000)
    seeked = http.post("/api/playback/seek/", json={"zone_id": zone_id, "position_ms": 30_000},
                       headers=auth)
    assert seeked.status_code == 200, seeked.text
    expect(page.get_by_test_id("player-status")).to_have_text("live", timeout=10_000)
    assert len(drops) > before
    follows_music(page, http, auth, zone_id)
    assert audio_of(page)["time"] >= 29


def device_shows_online(page: Page) -> None:
    page.get_by_role("link", name="Zones").click()
    card = page.get_by_test_id("zone-card")
    card.get_by_text("Devices", exact=True).click()
    expect(card.locator("[data-online=true]")).to_contain_text("Lobby browser", timeout=12_000)


def other_views_render(page: Page, pages: Pages) -> None:
    """Schedules and history render (an empty state where the server has no data)."""
    page.get_by_role("link", name="Schedules").click()
    schedules = page.get_by_test_id("schedules")
    expect(schedules.locator(".empty, .week").first).to_be_visible()
    pages.shot("8-console-schedules", "console")
    page.get_by_role("link", name="History").click()
    expect(page.get_by_test_id("time-slider")).to_be_visible()
    expect(page.get_by_test_id("history").locator(".empty, li").first).to_be_visible()
    expect(page.get_by_test_id("plays").locator(".empty, tr").first).to_be_visible()
    pages.shot("9-console-history", "console")


@pytest.mark.timeout(120)
def test_a_ducking_zone_keeps_the_music_going_lower_under_an_announcement(
        base_url: str) -> None:
    """duck_level 20: during the announcement the music's gain is 0.2 of its level and
    its position keeps advancing; after it, the music is back at full."""
    with httpx.Client(base_url=base_url, timeout=20) as http:
        _, auth = sign_up(http)
        ids = seed(http, auth)
        zone_id, ann_id = ids["zone"], ducking_setup(http, auth, ids)
        with browser_pages(base_url) as pages:
            player = pages.open("player")
            code = http.post(f"/api/zones/{zone_id}/pairing-code/", headers=auth)
            pair_player(player, code.json()["code"])
            played = http.post("/api/playback/play/", headers=auth, json={
                "zone_id": zone_id, "folder_ids": [ids["folder"]]})
            assert played.status_code == 200, played.text
            state = follows_music(player, http, auth, zone_id)
            full = eventually(lambda: steady(player), timeout=5, what="a steady gain")
            print(f"music gain {full:.3f} (volume {state['volume']} % × its loudness gain)")

            interrupted_at = server_position_ms(state, time.time() * 1000)
            interrupted = http.post(f"/api/announcements/{ann_id}/play-instant/",
                                    headers=auth, json={"zone_ids": [zone_id]})
            assert interrupted.status_code == 200, interrupted.text
            assert interrupted.json()[0]["announcement"]["ducking"] == "duck"
            eventually(lambda: near(gains(player)["music"], 0.2 * full), timeout=4,
                       interval=0.05, what="music ducked to 20 %")
            before = audio_of(player, "music")
            time.sleep(1.0)
            during = audio_of(player, "music")
            assert not during["paused"] and during["time"] - before["time"] >= 0.7
            assert media_path(during["src"]) == media_path(state["current"]["url"])
            assert near(gains(player)["music"], 0.2 * full)
            announcement = audio_of(player, "announcement")
            assert not announcement["paused"] and announcement["time"] > 0
            assert gains(player)["announcement"] > 0

            eventually(lambda: near(gains(player)["music"], full), timeout=8,
                       interval=0.1, what="music back at full after the announcement")
            after = follows_music(player, http, auth, zone_id)
            assert after["announcement"] is None
            moved = server_position_ms(after, time.time() * 1000) - interrupted_at
            assert moved >= 4_500, moved  # the music went on under the 5 s announcement
            assert pages.errors == [], pages.errors


def ducking_setup(http: httpx.Client, auth: dict[str, str], ids: dict[str, str]) -> str:
    """A 40 s song in the folder, a 5 s announcement, and the zone set to duck to 20 %."""
    song = http.post("/api/music/upload/", headers=auth, data={"folder_id": ids["folder"]},
                     files=[("files", ("song.mp3", mp3_bytes(40.0), "audio/mpeg"))])
    ann = http.post("/api/announcements/upload/", headers=auth, data={"title": "Sale"},
                    files=[("file", ("sale.mp3", mp3_bytes(5.0, freq=660), "audio/mpeg"))])
    patched = http.patch(f"/api/zones/{ids['zone']}/", headers=auth,
                         json={"ducking": "duck", "duck_level": 20})
    for response in (song, ann):
        assert response.status_code == 201, response.text
    assert patched.status_code == 200, patched.text
    http.get("/api/music/files/", headers={**auth, "X-Wait-For-Position": song.headers[
        "X-Event-Position"]})
    http.get("/api/announcements/", headers={**auth, "X-Wait-For-Position": ann.headers[
        "X-Event-Position"]})
    return str(ann.json()["id"])


def gains(page: Page) -> dict[str, float]:
    values: dict[str, float] = page.evaluate("() => window.s2gPlayer.gains()")
    return values


def steady(page: Page) -> float | None:
    """The music's gain once it holds still (the zone volume times the track's
    loudness gain, as the device got them)."""
    first = gains(page)["music"]
    time.sleep(0.2)
    return first if first > 0 and near(gains(page)["music"], first, 0.001) else None


def near(value: float, expected: float, tolerance: float = 0.02) -> bool:
    return abs(value - expected) <= tolerance
