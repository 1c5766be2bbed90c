"""Restarts that always come back (issue 12, finding 9).

`sync2gear run` is started 20 times on one data folder with embedded servers (as
`make run`), driven over HTTP (sign-ups, zones, uploads, plays, volume, pause,
skips) and killed at a random moment, alternately with SIGTERM and SIGKILL. Every
start serves `POST /api/zones/` within 30 s, every SIGTERM ends the process
within 10 s, and after the last restart every zone whose creation was answered
201 is listed.
"""

from __future__ import annotations

import random
import signal
import subprocess
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.audio_factory import make_wav
from tests.e2e.conftest import free_port, lift_plan_limits
from tests.e2e.embedded_support import data_folder, embedded_env, server_pids, signup

Spawn = Callable[..., subprocess.Popen[bytes]]
STARTS = 20


@pytest.fixture
def data_dir() -> Iterator[Path]:
    yield from data_folder()


class Driver:
    """Commands over HTTP from a few threads; remembers each zone answered 201."""

    def __init__(self, auth: dict[str, str], rng: random.Random, tracks: Path) -> None:
        self.auth, self.rng, self.tracks = auth, rng, tracks
        self.zones: dict[str, int] = {}  # zone id -> X-Event-Position of its creation
        self.folder: str | None = None
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def create_zone(self, http: httpx.Client, timeout: float = 10) -> bool:
        response = http.post("/api/zones/", json={"name": f"Zone {len(self.zones)}"},
                             headers=self.auth, timeout=timeout)
        if response.status_code != 201:
            return False
        with self._lock:
            self.zones[response.json()["id"]] = int(response.headers["X-Event-Position"])
        return True

    def start(self, base: str, threads: int = 2) -> None:
        self._stop.clear()
        self._threads = [threading.Thread(target=self._drive, args=(base,), daemon=True)
                         for _ in range(threads)]
        for thread in self._threads:
            thread.start()

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(30)

    def _drive(self, base: str) -> None:
        with httpx.Client(base_url=base, timeout=10) as http:
            while not self._stop.is_set():
                try:
                    self._one_command(http)
                except httpx.HTTPError:
                    time.sleep(0.05)  # killed, or not answering yet

    def _one_command(self, http: httpx.Client) -> None:
        choice = self.rng.random()
        zone = self.rng.choice(list(self.zones))
        if choice < 0.3:
            self.create_zone(http)
        elif choice < 0.4 and self.folder is None:
            self._upload(http)
        elif choice < 0.55 and self.folder is not None:
            http.post("/api/playback/play/", headers=self.auth, json={
                "zone_id": zone, "folder_ids": [self.folder], "shuffle": True})
        elif choice < 0.6:
            http.post("/api/auth/signup/", json={
                "email": f"more-{uuid.uuid4().hex[:8]}@example.com",
                "password": "a-long-password", "name": "Max", "client_name": "Max's"})
        else:
            action = self.rng.choice(["volume", "pause", "resume", "next"])
            body = {"zone_id": zone, **({"volume": self.rng.randint(0, 100)}
                                        if action == "volume" else {})}
            http.post(f"/api/playback/{action}/", headers=self.auth, json=body)

    def _upload(self, http: httpx.Client) -> None:
        folder = http.post("/api/music/folders/", json={"name": "Short ones"},
                           headers=self.auth)
        if folder.status_code != 201:
            return
        files = [("files", (p.name, p.read_bytes(), "audio/wav"))
                 for p in sorted(self.tracks.glob("*.wav"))]
        if http.post("/api/music/upload/", headers=self.auth, files=files,
                     data={"folder_id": folder.json()["id"]}).status_code == 201:
            self.folder = folder.json()["id"]


def unlimited(http: httpx.Client, env: dict[str, str]) -> dict[str, str]:
    """A new client whose plan allows every zone the driver makes."""
    auth = signup(http)
    lift_plan_limits(str(http.base_url).rstrip("/"), env, auth)
    return auth


def first_zone(driver: Driver | None, base: str, deadline: float,
               make: Callable[[httpx.Client], Driver]) -> Driver:
    """Sign up (on the first start), then create a zone: before `deadline`."""
    with httpx.Client(base_url=base, timeout=10) as http:
        while time.monotonic() < deadline:
            try:
                driver = driver or make(http)
                if driver.create_zone(http, timeout=max(1.0, deadline - time.monotonic())):
                    return driver
            except (httpx.HTTPError, AssertionError):
                pass
            time.sleep(0.1)
    pytest.fail("POST /api/zones/ was not served within 30 s of the start")


def listed_zones(base: str, auth: dict[str, str], position: int) -> set[str]:
    found: set[str] = set()
    url: str | None = f"{base}/api/zones/?page_size=200"
    with httpx.Client(timeout=30) as http:
        while url:
            response = _read(http, url, {**auth, "X-Wait-For-Position": str(position)})
            page: dict[str, Any] = response.json()
            found |= {z["id"] for z in page["results"]}
            url = page["next"]
    return found


def _read(http: httpx.Client, url: str, headers: dict[str, str]) -> httpx.Response:
    deadline = time.monotonic() + 120
    while True:  # 504 while the read models catch up after the restart
        response = http.get(url, headers=headers)
        if response.status_code == 200 or time.monotonic() > deadline:
            assert response.status_code == 200, response.text
            return response
        time.sleep(0.5)


@pytest.mark.timeout(600)
def test_twenty_restarts_killed_at_random_moments_always_come_back_and_lose_nothing(
        data_dir: Path, spawn: Spawn, tmp_path: Path) -> None:
    seed = random.randrange(1 << 30)
    print(f"seed {seed}")
    rng, env = random.Random(seed), embedded_env(data_dir)
    for n in range(3):
        make_wav(tmp_path / f"short-{n}.wav", 0.4 + n / 10, freq=330 + 110 * n)
    driver: Driver | None = None
    starts, stops = [], []
    for start in range(STARTS + 1):
        port = free_port()
        began = time.monotonic()
        proc = spawn("run", "--port", str(port), env=env)
        base = f"http://127.0.0.1:{port}"
        driver = first_zone(driver, base, began + 30,
                            lambda http: Driver(unlimited(http, env), rng, tmp_path))
        starts.append(time.monotonic() - began)
        if start == STARTS:
            break  # the last start: read everything back below
        driver.start(base)
        time.sleep(rng.uniform(0.3, 4.0))
        sig = signal.SIGTERM if start % 2 == 0 else signal.SIGKILL
        stopping = time.monotonic()
        proc.send_signal(sig)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            pytest.fail(f"start {start}: still running 10 s after {sig.name}")
        stops.append((sig.name, time.monotonic() - stopping))
        driver.stop()

    assert driver is not None
    missing = set(driver.zones) - listed_zones(base, driver.auth, max(driver.zones.values()))
    print(f"{len(driver.zones)} zones acknowledged; starts took up to {max(starts):.1f} s; "
          f"SIGTERM stops up to {max(t for s, t in stops if s == 'SIGTERM'):.1f} s")
    assert not missing, f"{len(missing)} acknowledged zones lost"
    proc.send_signal(signal.SIGTERM)
    proc.wait(10)
    assert server_pids(data_dir) == {}  # the last owner stopped its embedded servers
