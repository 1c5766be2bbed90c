"""Offline playback in a real browser (issue 17): a web player cut off for two
minutes keeps playing, then reports what it played.

One API process with the scheduler in it. A zone plays three 20 s songs; a schedule
fires an announcement once, inside the outage. The player caches the horizon, then
loses the network (playwright's offline mode, its socket closed and refused): it
plays on through track changes and the announcement and shows that it is offline.
Back online it reports its plays and rejoins; proof of play over the outage lists
exactly the plays it made (same ids, titles and times, no gap, no duplicate).
"""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from playwright.sync_api import Page, WebSocketRoute, expect

from bench.sync import pairing_code
from tests.audio_factory import mp3_bytes
from tests.e2e import browser_support
from tests.e2e.browser_support import browser_pages, eventually, seed, sign_up
from tests.e2e.test_browser import pair_player
from tests.e2e.test_browser_history import schedule_once

OUTAGE_S = 120.0
ANNOUNCE_AFTER_S = 40  # from the schedule's creation: inside the outage
TOLERANCE_MS = 5


@pytest.fixture
def artifacts(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(browser_support, "ARTIFACTS", browser_support.ARTIFACTS / "offline")


@pytest.mark.timeout(240)
def test_a_player_cut_off_for_two_minutes_plays_on_and_proof_of_play_lists_its_plays(
        scheduling_server: str, artifacts: None) -> None:
    base_url = scheduling_server
    with httpx.Client(base_url=base_url, timeout=20) as http:
        _, auth = sign_up(http)
        ids = seed(http, auth)
        upload_songs(http, auth, ids["folder"])
        schedule_id = schedule_once(http, auth, ids, seconds_ahead=ANNOUNCE_AFTER_S)
        played = http.post("/api/playback/play/", headers=auth, json={
            "zone_id": ids["zone"], "folder_ids": [ids["folder"]]})
        assert played.status_code == 200, played.text
        with browser_pages(base_url) as pages:
            player = pages.open("player")
            cut = {"on": False}
            sockets = route_cuttable_sockets(player, cut)
            pair_player(player, pairing_code(http, ids["zone"], auth))
            horizon = cached_horizon(player)
            device_id = player.evaluate(
                "() => JSON.parse(localStorage.getItem('s2g.player.device')).deviceId")
            at = next(a["at"] for a in horizon["announcements"]
                      if a["schedule_id"] == schedule_id)

            cut_at = datetime.now(UTC)
            assert (datetime.fromisoformat(at) - cut_at).total_seconds() > 8, at
            cut["on"] = True
            player.context.set_offline(True)
            sockets[-1].close(code=1011, reason="network down")
            badge = player.get_by_test_id("player-offline")
            expect(badge).to_be_visible(timeout=10_000)
            expect(badge).to_have_text("offline")
            pages.shot("1-offline", "player")
            heard = listen(player, OUTAGE_S - (datetime.now(UTC) - cut_at).total_seconds())
            expect(badge).to_be_visible()
            pages.shot("2-still-offline", "player")

            cut["on"] = False
            player.context.set_offline(False)
            back_at = datetime.now(UTC)
            expect(player.get_by_test_id("player-status")).to_have_text("live",
                                                                         timeout=15_000)
            made = rejoined(player)
            expect(badge).to_be_hidden()
            pages.shot("3-rejoined", "player")

            plays_the_outage_through(heard)
            mine = [p for p in made if overlaps(p, cut_at, back_at)]
            no_gap_no_duplicate(mine, cut_at, back_at, schedule_id, at)
            listed = proof_of_play(http, auth, ids["zone"], cut_at, back_at, device_id,
                                   len(mine))
            same_plays(listed, mine, device_id)
            assert pages.errors == [], pages.errors


def upload_songs(http: httpx.Client, auth: dict[str, str], folder: str) -> None:
    """Three 20 s songs (different tones) in the folder, ready to play."""
    files = [("files", (f"song-{i}.mp3", mp3_bytes(20.0, freq=330 + 110 * i), "audio/mpeg"))
             for i in range(3)]
    up = http.post("/api/music/upload/", headers=auth, data={"folder_id": folder}, files=files)
    assert up.status_code == 201, up.text
    http.get("/api/music/files/", headers={**auth, "X-Wait-For-Position": up.headers[
        "X-Event-Position"]})


def route_cuttable_sockets(page: Page, cut: dict[str, bool]) -> list[WebSocketRoute]:
    """The player's sockets pass through, unless the network is cut: then refused as a
    dead network would (playwright's offline mode does not cover routed sockets)."""
    routes: list[WebSocketRoute] = []

    def handler(route: WebSocketRoute) -> None:
        if cut["on"]:
            route.close(code=1011, reason="offline")
            return
        route.connect_to_server()
        routes.append(route)

    page.route_web_socket("**/ws/playback/**", handler)
    return routes


def cached_horizon(page: Page) -> dict[str, Any]:
    """Once the player plays and has cached every item of its horizon."""

    def ready() -> dict[str, Any] | None:
        found: dict[str, Any] | None = page.evaluate("""() => {
            const r = window.s2gPlayer.offline(), p = window.s2gPlayer.position();
            if (!r?.horizon || !p || p.paused) return null;
            const items = [...r.horizon.tracks, ...r.horizon.announcements];
            const all = items.every((i) => r.cached.includes(i.media_key));
            return all && r.horizon.announcements.length ? r.horizon : null;
        }""")
        return found

    return eventually(ready, timeout=30, interval=0.3, what="the horizon cached")


def listen(page: Page, seconds: float) -> list[dict[str, Any]]:
    """What the player sounds like every half second for `seconds`."""
    heard = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        heard.append(page.evaluate("""() => ({ ...window.s2gPlayer.position(),
            active: window.s2gPlayer.offline().active })"""))
        time.sleep(0.5)
    return heard


def rejoined(page: Page) -> list[dict[str, Any]]:
    """Once the player follows the live state again with every play reported."""
    found: list[dict[str, Any]] = eventually(lambda: page.evaluate("""() => {
        const r = window.s2gPlayer.offline();
        return !r.active && r.unsent === 0 ? r.made : null;
    }"""), timeout=40, interval=0.3, what="rejoined, plays reported")
    return found


def plays_the_outage_through(heard: list[dict[str, Any]]) -> None:
    items = [h["item_id"] for h in heard]
    music = {i for i in items if i and i.startswith("music:")}
    assert len(music) >= 3, music  # 20 s songs: several track changes
    assert any(i and i.startswith("announcement:") for i in items), items
    assert all(h["active"] for h in heard), [h for h in heard if not h["active"]][:3]
    sounding = [h for h in heard if not h["paused"]]
    assert len(sounding) >= 0.95 * len(heard), f"{len(sounding)} of {len(heard)} playing"


def overlaps(play: dict[str, Any], since: datetime, until: datetime) -> bool:
    return (datetime.fromisoformat(play["started_at"]) <= until
            and datetime.fromisoformat(play["ended_at"]) >= since)


def no_gap_no_duplicate(plays: list[dict[str, Any]], since: datetime, until: datetime,
                        schedule_id: str, at: str) -> None:
    """The player's own record: tracks end to end over the outage, the announcement once."""
    tracks = sorted((p for p in plays if p["kind"] == "track"), key=lambda p: p["started_at"])
    assert len(tracks) >= 6, tracks
    assert datetime.fromisoformat(tracks[0]["started_at"]) <= since
    assert datetime.fromisoformat(tracks[-1]["ended_at"]) >= until
    for a, b in zip(tracks, tracks[1:], strict=False):
        assert a["ended_at"] == b["started_at"], (a, b)
    anns = [p for p in plays if p["kind"] == "announcement"]
    assert [a["schedule_id"] for a in anns] == [schedule_id], anns
    started = datetime.fromisoformat(anns[0]["started_at"])
    assert abs((started - datetime.fromisoformat(at)).total_seconds()) < 0.01


def proof_of_play(http: httpx.Client, auth: dict[str, str], zone_id: str, since: datetime,
                  until: datetime, device_id: str, count: int) -> list[dict[str, Any]]:
    params = {"zone_id": zone_id, "from": since.isoformat(), "to": until.isoformat(),
              "page_size": "200"}

    def listed() -> list[dict[str, Any]] | None:
        response = http.get("/api/reports/plays/", params=params, headers=auth)
        assert response.status_code == 200, response.text
        rows: list[dict[str, Any]] = response.json()["results"]
        devices = [r for r in rows if r["source"] == "device"]
        return rows if len(devices) >= count else None

    return eventually(listed, timeout=15, interval=0.3, what="the device's plays listed")


def same_plays(listed: list[dict[str, Any]], made: list[dict[str, Any]],
               device_id: str) -> None:
    assert all(r["source"] == "device" and r["device_id"] == device_id for r in listed), [
        (r["source"], r["title"], r["started_at"], r["ended_at"]) for r in listed]
    expected = {str(uuid.uuid5(uuid.NAMESPACE_URL,
                               f"sync2gear:device-play:{device_id}:{p['play_id']}")): p
                for p in made}
    assert sorted(r["id"] for r in listed) == sorted(expected)
    for row in listed:
        play = expected[row["id"]]
        assert (row["kind"], row["title"]) == (play["kind"], play["title"])
        for field in ("started_at", "ended_at"):
            gap = datetime.fromisoformat(row[field]) - datetime.fromisoformat(play[field])
            assert abs(gap.total_seconds()) * 1000 <= TOLERANCE_MS, (field, row, play)
