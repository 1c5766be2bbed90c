"""The console's History in a real browser, on real playback.

One API process (its scheduler in-process, ticking every second). A zone plays
two generated songs; the user skips with `next`; a schedule plays an
announcement once, a few seconds ahead. Then the console's History: the window
follows now; each entry names its actor (the user, the schedule by name), its
reason and what was heard; proof of play lists the plays with their durations
and its CSV download is the same data; the time slider, moved into the first
song, shows that song. Screenshots: tests/artifacts/browser/history/.
"""

from __future__ import annotations

import csv
import io
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.audio_factory import make_mp3
from tests.e2e import browser_support
from tests.e2e.browser_support import browser_pages, eventually, seed, sign_up
from tests.e2e.test_browser import log_in

SCHEDULE = "Closing call"
FIRST_PLAY_S = 4.0


@pytest.fixture
def artifacts(monkeypatch: pytest.MonkeyPatch) -> Path:
    """A folder of this test's own, so it and tests/e2e/test_browser.py keep each
    other's screenshots."""
    folder = browser_support.ARTIFACTS / "history"
    monkeypatch.setattr(browser_support, "ARTIFACTS", folder)
    return folder


@pytest.mark.timeout(180)
def test_history_shows_plays_a_users_next_a_scheduled_announcement_and_the_past_state(
        scheduling_server: str, artifacts: Path, tmp_path: Path) -> None:
    base_url = scheduling_server
    with httpx.Client(base_url=base_url, timeout=20) as http:
        email, auth = sign_up(http)
        ids = seed(http, auth)
        songs = upload_songs(http, auth, ids["folder"], tmp_path)
        played = play_skip_and_announce(http, auth, ids)
        with browser_pages(base_url) as pages:
            console = pages.open("console")
            log_in(console, email)
            console.get_by_role("link", name="History").click()
            window_follows_now(console)
            entries_name_actor_reason_and_track(console, played, songs)
            pages.shot("1-history-entries", "console")
            plays = proof_of_play(console, http, auth, ids["zone"], played)
            pages.shot("2-history-proof-of-play", "console")
            csv_is_the_same_data(console, plays)
            time_travel_into_the_first_song(console, plays[0], played["first"])
            pages.shot("3-history-time-travel", "console")
            window_stops_following_until_now_is_pressed(console)
            assert pages.errors == [], pages.errors
    assert (artifacts / "3-history-time-travel.png").exists()


def upload_songs(http: httpx.Client, auth: dict[str, str], folder: str,
                 tmp: Path) -> list[str]:
    titles = ["Morning Song", "Second Song"]
    for n, title in enumerate(titles):
        path = make_mp3(tmp / f"song{n}.mp3", 40, title=title, artist="History Band")
        up = http.post("/api/music/upload/", headers=auth, data={"folder_id": folder},
                       files=[("files", (path.name, path.read_bytes(), "audio/mpeg"))])
        assert up.status_code == 201, up.text

    def ready() -> list[str] | None:
        rows = http.get(f"/api/music/files/?folder_id={folder}", headers=auth).json()["results"]
        done = [r["title"] for r in rows if r["status"] == "ready"]
        return done if sorted(done) == sorted(titles) else None

    eventually(ready, timeout=30, interval=0.3, what="both songs ready")
    return titles


def state_of(http: httpx.Client, auth: dict[str, str], zone: str,
             position: str | None = None) -> dict[str, Any]:
    headers = {**auth, "X-Wait-For-Position": position} if position else auth
    response = http.get(f"/api/playback/state/?zone_id={zone}", headers=headers)
    assert response.status_code == 200, response.text
    return dict(response.json())


def play_skip_and_announce(http: httpx.Client, auth: dict[str, str],
                           ids: dict[str, str]) -> dict[str, Any]:
    """Play the folder, `next` after a few seconds, then a schedule's announcement
    fires once, a few seconds ahead (zone-local time)."""
    zone = ids["zone"]
    started = http.post("/api/playback/play/", headers=auth,
                        json={"zone_id": zone, "folder_ids": [ids["folder"]]})
    assert started.status_code == 200, started.text
    first = state_of(http, auth, zone, started.headers["X-Event-Position"])["current"]["title"]
    time.sleep(FIRST_PLAY_S)
    skipped = http.post("/api/playback/next/", headers=auth, json={"zone_id": zone})
    assert skipped.status_code == 200, skipped.text
    second = state_of(http, auth, zone, skipped.headers["X-Event-Position"])["current"]["title"]
    assert second != first
    schedule_id = schedule_once(http, auth, ids, seconds_ahead=5)

    def announced() -> dict[str, Any] | None:
        ann = state_of(http, auth, zone)["announcement"]
        return ann if ann and ann.get("schedule_id") == schedule_id else None

    ann = eventually(announced, timeout=25, interval=0.3, what="the scheduled announcement")
    assert ann["title"] == "Closing soon"
    # the 3 s announcement ends and the music resumes
    eventually(lambda: state_of(http, auth, zone)["announcement"] is None, timeout=15,
               interval=0.3, what="the announcement over")
    return {"first": first, "second": second, "schedule": schedule_id}


def schedule_once(http: httpx.Client, auth: dict[str, str], ids: dict[str, str],
                  seconds_ahead: int) -> str:
    zone = http.get(f"/api/zones/{ids['zone']}/", headers=auth).json()
    at = datetime.now(ZoneInfo(zone["timezone"])) + timedelta(seconds=seconds_ahead)
    created = http.post("/api/schedules/", headers=auth, json={
        "name": SCHEDULE, "type": "announcement", "mode": "timeline",
        "announcement_id": ids["announcement"], "start_time": at.strftime("%H:%M:%S"),
        "zone_ids": [ids["zone"]]})
    assert created.status_code == 201, created.text
    return str(created.json()["id"])


def window_follows_now(page: Page) -> None:
    head = page.get_by_test_id("history-window")
    expect(head).to_have_attribute("data-following", "true")
    to = datetime.fromisoformat(page.get_by_label("To").input_value())
    assert abs((to - datetime.now()).total_seconds()) < 15, to  # local, with seconds
    slider = page.get_by_test_id("time-slider")
    newest = float(slider.get_attribute("max") or 0) / 1000
    assert abs(newest - time.time()) < 15


def entries_name_actor_reason_and_track(page: Page, played: dict[str, Any],
                                        songs: list[str]) -> None:
    history = page.get_by_test_id("history")
    started = history.locator("li[data-type=PlaybackStarted]")
    expect(started).to_have_count(1)
    expect(started.get_by_test_id("actor")).to_have_text(" · Wendy")
    expect(started.get_by_test_id("heard")).to_have_text(f"♪ {played['first']}")

    manual = history.locator("li[data-type=TrackChanged][data-actor=user]")
    expect(manual).to_have_count(1)
    expect(manual.get_by_test_id("actor")).to_have_text(" · Wendy")
    expect(manual.get_by_test_id("reason")).to_have_text(" · skipped")
    expect(manual.get_by_test_id("heard")).to_have_text(f"♪ {played['second']}")

    scheduled = history.locator("li[data-type=AnnouncementStarted]")
    expect(scheduled).to_have_count(1)
    expect(scheduled).to_have_attribute("data-actor", "schedule")
    expect(scheduled.get_by_test_id("actor")).to_have_text(f" · schedule “{SCHEDULE}”")
    expect(scheduled.get_by_test_id("heard")).to_have_text("♪ Announcement: Closing soon")
    decided = history.locator("li[data-type=ScheduleDecided]")
    expect(decided.first.get_by_test_id("actor")).to_have_text(f" · schedule “{SCHEDULE}”")

    resumed = history.locator("li[data-type=AnnouncementFinished]")
    expect(resumed.first.get_by_test_id("heard")).to_have_text(f"♪ {played['second']}")
    assert set(songs) == {played["first"], played["second"]}


def proof_of_play(page: Page, http: httpx.Client, auth: dict[str, str], zone: str,
                  played: dict[str, Any]) -> list[dict[str, Any]]:
    """The table lists the plays in order, each with its seconds heard as m:ss."""
    rows = page.get_by_test_id("plays").locator("tbody tr")
    expect(rows).to_have_count(4)  # first song, second, announcement, second again
    plays = http.get(f"/api/reports/plays/?zone_id={zone}", headers=auth).json()["results"]
    assert [(p["kind"], p["title"], p["end_reason"]) for p in plays] == [
        ("track", played["first"], "skipped"), ("track", played["second"], "interrupted"),
        ("announcement", "Closing soon", "natural"), ("track", played["second"], None)]
    assert plays[2]["schedule_id"] == played["schedule"]
    assert FIRST_PLAY_S - 0.5 <= plays[0]["played_seconds"] <= FIRST_PLAY_S + 2
    assert 2.0 <= plays[2]["played_seconds"] <= 4.5  # the 3 s announcement
    for n, play in enumerate(plays[:3]):  # ended: their durations are final
        row = rows.nth(n)
        expect(row).to_have_attribute("data-id", play["id"])
        expect(row.get_by_test_id("played")).to_have_text(m_ss(play["played_seconds"]))
        expect(row.locator("td").last).to_have_text(play["end_reason"])
    expect(rows.nth(3).locator("td").last).to_have_text("playing")
    return [dict(p) for p in plays]


def m_ss(seconds: float) -> str:
    whole = int(seconds)
    return f"{whole // 60}:{whole % 60:02d}"


def csv_is_the_same_data(page: Page, plays: list[dict[str, Any]]) -> None:
    with page.expect_download() as download:
        page.get_by_test_id("plays").get_by_role("button", name="Download CSV").click()
    text = Path(download.value.path()).read_text()
    rows = list(csv.DictReader(io.StringIO(text)))
    shown = page.get_by_test_id("plays").locator("tbody tr")
    ids = [shown.nth(n).get_attribute("data-id") for n in range(shown.count())]
    assert [r["id"] for r in rows] == ids == [p["id"] for p in plays]
    for row, play in zip(rows, plays, strict=True):
        assert (row["kind"], row["title"], row["started_at"]) == (
            play["kind"], play["title"], play["started_at"])
        assert row["end_reason"] == (play["end_reason"] or "")
        if play["ended_at"]:
            assert float(row["played_seconds"]) == play["played_seconds"]


def time_travel_into_the_first_song(page: Page, first_play: dict[str, Any],
                                    title: str) -> None:
    during = datetime.fromisoformat(first_play["started_at"]) + timedelta(seconds=2)
    slider = page.get_by_test_id("time-slider")
    assert float(slider.get_attribute("min") or 0) <= during.timestamp() * 1000
    slider.evaluate("(el, at) => { el.value = String(at);"
                    " el.dispatchEvent(new Event('input', {bubbles: true})); }",
                    during.timestamp() * 1000)
    card = page.locator(".card", has=slider)
    expect(card.get_by_test_id("now-title")).to_have_text(title)
    expect(card).to_contain_text("Music was playing.")
    moment = datetime.fromisoformat(
        (page.get_by_test_id("slider-time").get_attribute("data-at") or "").replace("Z",
                                                                                   "+00:00"))
    started = datetime.fromisoformat(first_play["started_at"])
    assert started <= moment.astimezone(UTC) <= started + timedelta(seconds=FIRST_PLAY_S)
    # the entries after that moment are dimmed
    expect(page.get_by_test_id("history").locator(
        "li[data-type=AnnouncementStarted]")).to_have_class("future")


def window_stops_following_until_now_is_pressed(page: Page) -> None:
    head = page.get_by_test_id("history-window")
    page.get_by_label("From").fill("2020-01-01T00:00:00")
    page.get_by_label("From").dispatch_event("change")
    expect(head).to_have_attribute("data-following", "false")
    page.get_by_test_id("history-now").click()
    expect(head).to_have_attribute("data-following", "true")
    expect(page.get_by_test_id("plays").locator("tbody tr")).to_have_count(4)
