"""Zone sync (issue 17): how far apart two web players of one zone play.

Two headless chromium contexts, each a web player paired to the same zone, play
it for about 25 s including a `next`. Every ~200 ms each reports where its
audible item is on the server clock (`window.s2gPlayer.position()`: the
element's position at a server-clock instant); the figure is the difference of
the two, in ms, over the samples where both play the same item (the few taken
while one has switched and the other not yet are counted apart). There is no
baseline: the target is absolute (p95 within 30 ms), so a ratio means nothing.

Without playwright or Debian's chromium the row says so and the bench goes on.
The browser test tests/e2e/test_browser_sync.py shares these helpers.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from bench.core import Context, Row, pct
from bench.fixtures import playing_zones, tenant

CHROMIUM = "/usr/bin/chromium"
LAUNCH_ARGS = ["--no-sandbox", "--autoplay-policy=no-user-gesture-required",
               "--disable-background-networking", "--disable-dev-shm-usage", "--mute-audio"]
SAMPLE_EVERY_S = 0.2


@dataclass
class Spread:
    """The two players' position differences (ms), and the samples left out."""

    diffs: list[float] = field(default_factory=list)
    switching: int = 0  # one player on another item than the other
    paused: int = 0  # either player paused (loading, between items)
    items: dict[str, int] = field(default_factory=dict)  # samples per kind of item
    off: list[float] = field(default_factory=list)  # each player's drift from the zone

    def summary(self) -> dict[str, Any]:
        sizes = [abs(d) for d in self.diffs]
        return {"samples": len(sizes), "switching": self.switching, "paused": self.paused,
                "p50_ms": pct(sizes, 0.5), "p95_ms": pct(sizes, 0.95),
                "max_ms": max(sizes, default=float("nan")), "items": self.items,
                "own_drift_p95_ms": pct([abs(d) for d in self.off], 0.95)}

    def line(self) -> str:
        s = self.summary()
        return (f"position difference p50 {s['p50_ms']:.1f} ms, p95 {s['p95_ms']:.1f} ms, "
                f"max {s['max_ms']:.1f} ms over {s['samples']} samples "
                f"({s['switching']} while switching items, {s['paused']} paused left out; "
                f"samples by item {s['items']}; each player's own drift from the zone's "
                f"position p95 {s['own_drift_p95_ms']:.1f} ms)")


def position(page: Any) -> dict[str, Any] | None:
    found: dict[str, Any] | None = page.evaluate("() => window.s2gPlayer.position()")
    return found


def sample(pages: list[Any], spread: Spread) -> None:
    """One sample of both players: the difference of their positions on the server
    clock (each normalised to its own reading instant)."""
    a, b = (position(page) for page in pages)
    if not a or not b or a["paused"] or b["paused"]:
        spread.paused += 1
    elif a["item_id"] != b["item_id"]:
        spread.switching += 1
    else:
        kind = str(a["item_id"]).split(":")[0]
        spread.items[kind] = spread.items.get(kind, 0) + 1
        spread.off += [p["position_ms"] - p["target_ms"] for p in (a, b)
                       if p["target_ms"] is not None]
        spread.diffs.append((a["position_ms"] - a["server_ms"])
                            - (b["position_ms"] - b["server_ms"]))


def measure(pages: list[Any], seconds: float,
            events: dict[float, Callable[[], None]] | None = None) -> Spread:
    """Sample both players every SAMPLE_EVERY_S for `seconds`; `events` run at
    their offsets (s) into the run (a `next`, an announcement)."""
    spread, pending = Spread(), sorted((events or {}).items())
    start = time.monotonic()
    while (elapsed := time.monotonic() - start) < seconds:
        while pending and pending[0][0] <= elapsed:
            pending.pop(0)[1]()
        sample(pages, spread)
        time.sleep(max(0.0, SAMPLE_EVERY_S - (time.monotonic() - start - elapsed)))
    return spread


def open_player(browser: Any, base: str, code: str, name: str) -> Any:
    """A new browser context paired as a web player with `code`, live."""
    context = browser.new_context(base_url=base)
    context.set_default_timeout(15_000)
    page = context.new_page()
    page.goto("/player")
    page.get_by_test_id("pair-code").fill(code)
    page.get_by_label("Name of this player").fill(name)
    page.get_by_role("button", name="Pair").click()
    page.wait_for_function("() => document.querySelector('[data-testid=player-status]')"
                           ".textContent === 'live'")
    return page


def playing(pages: list[Any], timeout: float = 15.0) -> None:
    """Until both players play the same item."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = [position(page) for page in pages]
        if all(p and not p["paused"] and p["position_ms"] > 0 for p in found) and len(
                {p["item_id"] for p in found if p}) == 1:
            return
        time.sleep(0.1)
    raise AssertionError(f"players not playing the same item: {found}")


def pairing_code(http: httpx.Client, zone_id: str, auth: dict[str, str]) -> str:
    response = http.post(f"/api/zones/{zone_id}/pairing-code/", headers=auth)
    response.raise_for_status()
    return str(response.json()["code"])


def run(ctx: Context) -> list[Row]:
    key, what = "sync.drift.2", "zone sync: 2 web players, position difference"
    missing = _missing()
    if missing:
        return [Row(key, what, note=f"not measured: {missing}")]
    from playwright.sync_api import sync_playwright

    base = ctx.servers.api.url
    owner = tenant(base, ctx.servers.admin_token, tracks=2)
    zone_id = playing_zones(base, owner, 1)[0]
    seconds = 8.0 if ctx.quick else 25.0
    with httpx.Client(base_url=base, timeout=30) as http, sync_playwright() as pw:
        try:
            browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True,
                                         args=LAUNCH_ARGS, timeout=30_000)
        except Exception as e:  # a browser that cannot start here is not a failed bench
            return [Row(key, what, note=f"not measured: chromium did not start: {e}"[:300])]
        try:
            pages = [open_player(browser, base, pairing_code(http, zone_id, owner.auth),
                                 f"Bench {i}") for i in range(2)]
            playing(pages)
            time.sleep(2.0)  # the clocks' first exchanges, the first landing

            def skip() -> None:
                http.post("/api/playback/next/", json={"zone_id": zone_id},
                          headers=owner.auth).raise_for_status()
            spread = measure(pages, seconds, {seconds / 2: skip})
        finally:
            browser.close()
    s = spread.summary()
    return [Row(key, what, p50_ms=s["p50_ms"], p99_ms=pct([abs(d) for d in spread.diffs], 0.99),
                note=f"p95 {s['p95_ms']:.1f} ms, max {s['max_ms']:.1f} ms, {s['samples']} "
                     f"samples over {seconds:.0f} s with a next (target p95 ≤ 30 ms; an "
                     "absolute figure, no baseline ratio)", data=s)]


def _missing() -> str:
    """Why the browser measurement cannot run here ("" if it can)."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "playwright is not installed"
    if not Path(CHROMIUM).exists():
        return f"no chromium at {CHROMIUM} (Debian package chromium)"
    return ""
