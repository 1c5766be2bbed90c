"""`make bench`: playback command throughput and command → device latency.

Starts its own servers (sync2gear on the configured or embedded PostgreSQL and
Redis, and a hello-world FastAPI baseline), drives them over loopback with
bounded loops, prints a table and writes JSON under bench/results/.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import uuid
import wave
from pathlib import Path
from typing import Any

import httpx
import websockets
from rich.console import Console
from rich.table import Table

BIN = Path(sys.executable).parent
RESULTS = Path(__file__).parent / "results"
console = Console()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_up(url: str, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.HTTPError:
            time.sleep(0.3)
    raise TimeoutError(url)


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * p))] * 1000


async def load(url: str, body: dict[str, Any], headers: dict[str, str], clients: int,
               requests: int) -> dict[str, float]:
    latencies: list[float] = []
    per_client = requests // clients

    async def one(http: httpx.AsyncClient) -> None:
        for _ in range(per_client):
            start = time.perf_counter()
            response = await http.post(url, json=body, headers=headers)
            response.raise_for_status()
            latencies.append(time.perf_counter() - start)

    limits = httpx.Limits(max_connections=clients)
    async with httpx.AsyncClient(timeout=30, limits=limits) as http:
        start = time.perf_counter()
        await asyncio.gather(*(one(http) for _ in range(clients)))
        elapsed = time.perf_counter() - start
    return {"requests_per_s": len(latencies) / elapsed, "p50_ms": pct(latencies, 0.5),
            "p99_ms": pct(latencies, 0.99), "requests": len(latencies)}


async def fanout(base: str, ws_base: str, zone: str, token: str, auth: dict[str, str],
                 sockets: int, rounds: int) -> dict[str, float]:
    """Latency from a command's response to the state frame at each device socket."""
    conns = []
    for _ in range(sockets):
        ws = await websockets.connect(f"{ws_base}/ws/playback/{zone}/?token={token}",
                                      max_queue=None)
        await ws.recv()
        conns.append(ws)
    latencies: list[float] = []
    async with httpx.AsyncClient(base_url=base, headers=auth, timeout=30) as http:
        for _ in range(rounds):
            response = await http.post("/api/playback/next/", json={"zone_id": zone})
            acked = time.perf_counter()
            version = response.json()["version"]

            async def until(ws: Any, version: int = version, acked: float = acked) -> None:
                while json.loads(await ws.recv())["version"] < version:
                    pass
                latencies.append(time.perf_counter() - acked)

            await asyncio.wait_for(asyncio.gather(*(until(ws) for ws in conns)), 60)
    for ws in conns:
        await ws.close()
    return {"sockets": sockets, "p50_ms": pct(latencies, 0.5), "p99_ms": pct(latencies, 0.99),
            "deliveries": len(latencies)}


def make_wav(path: Path, seconds: int) -> None:
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes(b"\x00\x01" * 8000 * seconds)


def prepare(base: str, tmp: Path) -> tuple[dict[str, str], str, str]:
    with httpx.Client(base_url=base, timeout=30) as http:
        body = http.post("/api/auth/signup/", json={
            "email": f"bench-{uuid.uuid4().hex[:8]}@example.com",
            "password": "bench-password", "name": "Bench", "client_name": "Bench"}).json()
        auth = {"Authorization": f"Bearer {body['access']}"}
        zone = http.post("/api/zones/", json={"name": "Bench"}, headers=auth).json()["id"]
        folder = http.post("/api/music/folders/", json={"name": "B"}, headers=auth).json()["id"]
        for i in range(5):
            path = tmp / f"t{i}.wav"
            make_wav(path, 600 + i)  # long tracks: the clock never advances them here
            up = http.post("/api/music/upload/", headers=auth, data={"folder_id": folder},
                           files=[("files", (path.name, path.read_bytes(), "audio/wav"))])
            up.raise_for_status()
        http.get("/api/music/files/", headers={
            **auth, "X-Wait-For-Position": up.headers["X-Event-Position"]})
        http.post("/api/playback/play/", json={"zone_id": zone, "folder_ids": [folder]},
                  headers=auth).raise_for_status()
        return auth, zone, body["access"]


def main() -> None:
    tmp = Path(tempfile.mkdtemp(prefix="s2g-bench-"))
    port, hello_port = free_port(), free_port()
    env = {**os.environ, "DATA_DIR": str(tmp / "data"), "LOG_LEVEL": "WARNING",
           "LOGIN_RATE_LIMIT": "1000/minute"}
    procs = [
        subprocess.Popen([str(BIN / "sync2gear"), "run", "--port", str(port)], env=env,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL),
        subprocess.Popen([str(BIN / "uvicorn"), "bench.hello:app", "--port", str(hello_port),
                          "--log-level", "warning"], stdout=subprocess.DEVNULL),
    ]
    base, hello = f"http://127.0.0.1:{port}", f"http://127.0.0.1:{hello_port}"
    try:
        wait_up(f"{base}/api/health/")
        wait_up(f"{hello}/docs")
        auth, zone, token = prepare(base, tmp)
        results: dict[str, Any] = {"machine": {"cpus": os.cpu_count()}}
        for clients in (16,):
            results[f"next_{clients}"] = asyncio.run(load(
                f"{base}/api/playback/next/", {"zone_id": zone}, auth, clients, 1600))
            results[f"hello_{clients}"] = asyncio.run(load(
                f"{hello}/hello/", {}, {}, clients, 1600))
        ws_base = base.replace("http", "ws")
        results["ws_1000"] = asyncio.run(fanout(base, ws_base, zone, token, auth, 1000, 20))
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(30)
    report(results)


def report(results: dict[str, Any]) -> None:
    table = Table(title="sync2gear benchmarks (loopback, this machine)")
    for column in ("measure", "throughput /s", "p50 ms", "p99 ms", "baseline"):
        table.add_column(column)
    nxt, hello, ws = results["next_16"], results["hello_16"], results["ws_1000"]
    table.add_row("POST /api/playback/next/ (16 clients)", f"{nxt['requests_per_s']:.0f}",
                  f"{nxt['p50_ms']:.1f}", f"{nxt['p99_ms']:.1f}",
                  f"{nxt['requests_per_s'] / hello['requests_per_s']:.2%} of hello-world")
    table.add_row("hello-world FastAPI (16 clients)", f"{hello['requests_per_s']:.0f}",
                  f"{hello['p50_ms']:.1f}", f"{hello['p99_ms']:.1f}", "")
    table.add_row("command → device frame (1,000 sockets)", "", f"{ws['p50_ms']:.1f}",
                  f"{ws['p99_ms']:.1f}", f"{ws['deliveries']} deliveries")
    console.print(table)
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / f"bench-{time.strftime('%Y%m%d-%H%M%S')}.json"
    out.write_text(json.dumps(results, indent=2))
    console.print(f"written to {out}")


if __name__ == "__main__":
    main()
