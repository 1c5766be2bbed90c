"""`python -m bench` itself: its servers, load generators and report, at small sizes."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def bench(*args: str, results: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "bench", "--results", str(results), *args],
                          cwd=ROOT, capture_output=True, text=True, timeout=600)


@pytest.mark.skipif(shutil.which("wrk") is None, reason="wrk is not installed (make bench-deps)")
def test_quick_bench_measures_every_row_against_its_baseline(tmp_path: Path) -> None:
    done = bench("--quick", "http", "ws", "search", results=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    report = json.loads(next(tmp_path.glob("*.json")).read_text())
    assert report["errors"] == {} and report["benches"] == ["http", "ws", "search"]
    rows = {row["key"]: row for row in report["rows"]}
    for clients in (16, 64):
        for kind in ("next", "hello", "insert", "locked"):
            row = rows[f"http.{kind}.{clients}"]
            assert row["per_s"] > 0 and 0 < row["p50_ms"] <= row["p99_ms"]
        assert "of hello-world" in rows[f"http.next.{clients}"]["note"]
    for sockets in (20, 60):
        fanout = rows[f"ws.fanout.{sockets}"]["data"]
        assert fanout["sync2gear"]["sockets"] == sockets
        assert fanout["sync2gear"]["missed"] == 0
        assert fanout["sync2gear"]["deliveries"] == sockets * fanout["rounds"]
        assert fanout["hello_world"]["deliveries"] == sockets * fanout["rounds"]
        assert fanout["sync2gear"]["bytes_per_socket"] > 0
    searches = [row for key, row in rows.items() if key.startswith("search.")]
    assert len(searches) == 5 and all(row["data"]["seeded"]["tracks"] == 2000 for row in searches)
    assert rows["search.no match"]["data"]["matches"] == 0
    assert rows["search.common word"]["data"]["matches"] > 0
    assert "command → device frame" in done.stdout


def test_bench_names_select_and_unknown_names_are_refused(tmp_path: Path) -> None:
    done = bench("nosuchbench", results=tmp_path)
    assert done.returncode == 2
    assert "unknown bench" in done.stdout and "'http'" in done.stdout
    assert not list(tmp_path.glob("*.json"))


def test_the_session_check_asks_postgresql_nothing(tmp_path: Path) -> None:
    done = bench("--quick", "sessions", results=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    rows = {row["key"]: row for row in json.loads(next(tmp_path.glob("*.json")).read_text())[
        "rows"]}
    check, jwt = rows["sessions.check"], rows["sessions.jwt"]
    assert check["data"]["postgres_requests"] == 0 and check["data"]["checks"] > 0
    assert 0 < jwt["p50_ms"] <= check["p50_ms"]
