"""The baselines' server: hello-world FastAPI on the same uvicorn settings as sync2gear.

`POST /hello/` is a plain (threadpool) route like the command routes. `/ws/`
holds sockets and `POST /broadcast/` sends every one of them a frame of the
given size, encoded once: the web stack's own WebSocket fan-out, with no
auth, no database and no Redis.
"""

import asyncio
import json

from fastapi import FastAPI, WebSocket, WebSocketDisconnect

app = FastAPI()
sockets: set[WebSocket] = set()
sending: set[asyncio.Task[None]] = set()
version = 0


@app.post("/hello/")
def hello() -> dict[str, str]:
    return {"hello": "world"}


def frame(size: int) -> str:
    return json.dumps({"type": "zone.state", "version": version, "state": {"pad": "x" * size}})


@app.websocket("/ws/")
async def follow(websocket: WebSocket, size: int = 1000) -> None:
    await websocket.accept()
    sockets.add(websocket)
    try:
        await websocket.send_text(frame(size))  # as a zone socket sends its state on connect
        while True:
            await websocket.receive_text()
    except WebSocketDisconnect:
        pass
    finally:
        sockets.discard(websocket)


@app.post("/broadcast/")
async def broadcast(size: int = 1000) -> dict[str, int]:
    global version
    version += 1
    text = frame(size)
    for websocket in list(sockets):
        task = asyncio.create_task(_send(websocket, text))
        sending.add(task)
        task.add_done_callback(sending.discard)
    return {"version": version}


async def _send(websocket: WebSocket, text: str) -> None:
    try:
        await websocket.send_text(text)
    except Exception:  # a closed socket: it is leaving the set anyway
        sockets.discard(websocket)
