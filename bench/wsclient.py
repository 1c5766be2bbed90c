"""A device-simulator process: holds many zone sockets and notes when frames arrive.

The bench spreads its sockets over several of these (one event loop cannot
read 10,000 sockets fast enough on its own). Times are `time.perf_counter()`,
CLOCK_MONOTONIC on Linux: the same clock in every process, so the coordinator
can subtract the time it sent a command or told the processes to connect.

Protocol over the pipe: the process answers `("up",)` once it is started;
on `("connect",)` it opens its sockets (spread over its URLs in turn) and
answers `("ready", connected, failures, extensions, first_frames)` once each
has its first frame (`first_frames`: when each first frame arrived); then for
each `("wait", version, timeout)` it answers `("arrivals", [seconds...],
missing)`, and on `("close",)` closes its sockets and exits.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import time
from collections import Counter
from multiprocessing.connection import Connection
from typing import Any

import websockets

VERSION = re.compile(r'"version":\s*(\d+)')  # the frame's first key: no JSON parse needed


class Device:
    def __init__(self, socket: Any) -> None:
        self.socket = socket
        self.version = -1
        self.arrivals: list[tuple[int, float]] = []  # (version, perf_counter) per new version

    def saw(self, message: str | bytes) -> None:
        now = time.perf_counter()
        text = message.decode() if isinstance(message, bytes) else message
        found = VERSION.search(text)
        if found and int(found.group(1)) > self.version:
            self.version = int(found.group(1))
            self.arrivals = [*self.arrivals[-8:], (self.version, now)]

    def arrived(self, version: int) -> float | None:
        return next((t for v, t in self.arrivals if v >= version), None)

    @property
    def first_frame(self) -> float:
        return self.arrivals[0][1]

    async def follow(self) -> None:
        with contextlib.suppress(websockets.ConnectionClosed):
            async for message in self.socket:
                self.saw(message)


async def _open(url: str, gate: asyncio.Semaphore) -> Device:
    async with gate:
        socket = await websockets.connect(url, ping_interval=None, open_timeout=120,
                                          close_timeout=5)
        device = Device(socket)
        device.saw(await asyncio.wait_for(socket.recv(), 60))  # the state sent on connect
        return device


async def _wait(devices: list[Device], version: int, timeout: float) -> tuple[list[float], int]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and any(d.version < version for d in devices):
        await asyncio.sleep(0.005)
    times = [d.arrived(version) for d in devices]
    arrivals = [t for t in times if t is not None]
    return arrivals, len(times) - len(arrivals)


async def _serve(pipe: Connection, urls: list[str], count: int, concurrency: int) -> None:
    loop = asyncio.get_running_loop()
    pipe.send(("up",))
    await loop.run_in_executor(None, pipe.recv)  # ("connect",)
    gate = asyncio.Semaphore(concurrency)
    opened = await asyncio.gather(*(_open(urls[i % len(urls)], gate) for i in range(count)),
                                  return_exceptions=True)
    devices = [d for d in opened if isinstance(d, Device)]
    failures = Counter(type(e).__name__ for e in opened if not isinstance(e, Device))
    followers = [asyncio.create_task(d.follow()) for d in devices]
    extensions = devices[0].socket.response.headers.get("Sec-WebSocket-Extensions", "") \
        if devices else ""
    pipe.send(("ready", len(devices), dict(failures), extensions,
               [d.first_frame for d in devices]))
    while True:
        message = await loop.run_in_executor(None, pipe.recv)
        if message[0] == "wait":
            arrivals, missing = await _wait(devices, message[1], message[2])
            pipe.send(("arrivals", arrivals, missing))
        elif message[0] == "close":
            break
    for task in followers:
        task.cancel()
    await asyncio.gather(*(d.socket.close() for d in devices), return_exceptions=True)
    pipe.send(("closed",))


def main(pipe: Connection, urls: list[str], count: int, concurrency: int) -> None:
    """Process entry point: `count` sockets over `urls`, opened `concurrency` at a
    time (the open-file limit is inherited from the bench process, which raised it)."""
    asyncio.run(_serve(pipe, urls, count, concurrency))
