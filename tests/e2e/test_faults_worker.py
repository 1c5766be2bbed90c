"""A worker killed mid-job: its jobs are retried by another worker and complete once.

To kill the worker at a known point of its jobs, the test holds PostgreSQL's
lock on the library's event table: both jobs (a track's tags, a spoken
announcement) do their work — read the file, run espeak-ng, store the blob —
and then wait for that lock to record the result. The test sees them waiting
in `pg_locks`, SIGKILLs the worker, lets go of the lock and starts a second
worker. Dramatiq's Redis broker hands the dead worker's unacknowledged jobs
back to the queue once its heartbeat is WORKER_HEARTBEAT_TIMEOUT_MS old.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
import redis

from tests.audio_factory import espeak_available, make_wav
from tests.e2e.conftest import free_port, wait_until_up
from tests.e2e.faults import event_topics, fresh_database, signup, until

EVENTS = "library_events"
WORKER_ENV = {"WORKER_HEARTBEAT_TIMEOUT_MS": "3000", "WORKER_MAINTENANCE_CHANCE": "1000000",
              "PYTHONUNBUFFERED": "1"}

pytestmark = pytest.mark.skipif(not espeak_available(), reason="espeak-ng not installed")


@pytest.fixture
def database(servers: dict[str, str]) -> Iterator[str]:
    with fresh_database(servers["database_url"]) as url:
        yield url


def _waiting_on_events(conn: psycopg.Connection[Any]) -> int:
    row = conn.execute(
        "SELECT count(*) FROM pg_locks WHERE NOT granted AND relation = %s::regclass"
        " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
        (EVENTS,)).fetchone()
    return int(row[0]) if row else 0


def _start_worker(spawn: Callable[..., subprocess.Popen[bytes]], env: dict[str, str],
                  tmp: Path) -> subprocess.Popen[bytes]:
    proc = spawn("worker", "--threads", "2", env=env)
    log = max(tmp.glob("worker-*.log"), key=lambda p: int(p.stem.split("-")[1]))
    until(lambda: "worker running" in log.read_text(errors="replace") or proc.poll() is not None,
          90, "the worker starts")
    assert proc.poll() is None, log.read_text()
    return proc


def _request_jobs(base: str, auth: dict[str, str], tmp: Path) -> tuple[str, str]:
    """Upload a track and ask for a spoken announcement: two background jobs."""
    audio = make_wav(tmp / "tune.wav", 20)
    with httpx.Client(base_url=base, headers=auth, timeout=30) as http:
        up = http.post("/api/music/upload/",
                       files=[("files", (audio.name, audio.read_bytes(), "audio/wav"))])
        assert up.status_code == 201, up.text
        tts = http.post("/api/announcements/tts/", json={
            "title": "Closing", "text": "The shop closes in ten minutes. " * 20})
        assert tts.status_code == 202, tts.text
    return up.json()["created"][0]["id"], tts.json()["id"]


def _status(base: str, auth: dict[str, str], path: str) -> str:
    return str(httpx.get(f"{base}{path}", headers=auth, timeout=10).json()["status"])


def test_a_worker_killed_mid_job_leaves_it_to_another_worker_which_completes_it_once(
    spawn: Any, process_env: dict[str, str], database: str, tmp_path: Path
) -> None:
    env = {**process_env, "DATABASE_URL": database, "WORKERS_IN_PROCESS": "false",
           "REDIS_PREFIX": f"faults-{uuid.uuid4().hex[:6]}:"}
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    spawn("run", "--port", str(port), env=env)
    wait_until_up(base)
    auth = signup(base, "Wendy")
    worker_env = {**env, **WORKER_ENV}
    first = _start_worker(spawn, worker_env, tmp_path)
    os.kill(first.pid, signal.SIGSTOP)  # takes no job until the lock is held
    track_id, ann_id = _request_jobs(base, auth, tmp_path)
    queue = redis.Redis.from_url(env["REDIS_URL"])
    until(lambda: queue.llen(f"{env['REDIS_PREFIX']}dramatiq:media") == 2, 30,
          "both jobs are queued")

    with psycopg.connect(database) as holder, psycopg.connect(database, autocommit=True) as spy:
        holder.execute(f"LOCK TABLE {EVENTS} IN EXCLUSIVE MODE")
        os.kill(first.pid, signal.SIGCONT)
        until(lambda: _waiting_on_events(spy) == 2, 60, "both jobs wait to record results")
        first.kill()
        first.wait(10)
        killed_at = time.monotonic()
        # A save is one statement, sent whole: the server, checking that its client
        # is still there (client_connection_check_interval), cancels the dead
        # worker's waiting saves rather than committing them once the lock is free.
        until(lambda: _waiting_on_events(spy) == 0, 15, "the dead worker's saves are cancelled")
    # The lock is released; the dead worker's transactions never committed.
    time.sleep(0.5)
    assert event_topics(database, EVENTS, track_id)[-1].endswith("Uploaded")
    assert event_topics(database, EVENTS, ann_id)[-1].endswith("Created")

    _start_worker(spawn, worker_env, tmp_path)
    until(lambda: _status(base, auth, f"/api/music/files/{track_id}/") == "ready"
          and _status(base, auth, f"/api/announcements/{ann_id}/") == "ready",
          90, "the second worker completes both jobs")
    print(f"\njobs completed {time.monotonic() - killed_at:.1f} s after the kill")

    time.sleep(1)  # a duplicate run would have recorded by now
    track_events = [t.rsplit(".", 1)[-1] for t in event_topics(database, EVENTS, track_id)]
    ann_events = [t.rsplit(".", 1)[-1] for t in event_topics(database, EVENTS, ann_id)]
    assert track_events.count("MetadataExtracted") == 1, track_events
    assert ann_events.count("SpeechGenerated") == 1, ann_events
    assert "ExtractionFailed" not in track_events and "SpeechFailed" not in ann_events
    queue.close()
