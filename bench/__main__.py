"""`make bench` (`python -m bench [--quick] [NAME ...]`): measure, print a table, write JSON.

Every bench is a function `run(ctx) -> list[Row]` in a module of its own,
registered once in `BENCHES` below; `python -m bench http ws` runs a subset,
no names run them all. The run starts its own servers (see bench/servers.py),
drives them over loopback with bounded loops, measures each figure next to a
baseline taken on the same machine in the same run, prints a table and writes
bench/results/<timestamp>.json.

Adding a row: write `bench/<name>.py` with `def run(ctx: Context) -> list[Row]`
and add one line to `BENCHES`.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
import traceback
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from bench import http, ingest, projections, schedule, search, sessions, sync, ws
from bench.core import Context, Row
from bench.servers import Servers, raise_fd_limit

BENCHES: list[tuple[str, Callable[[Context], list[Row]]]] = [
    ("http", http.run),
    ("ws", ws.run),
    ("projections", projections.run),
    ("search", search.run),
    ("schedule", schedule.run),
    ("sessions", sessions.run),
    ("ingest", ingest.run),
    ("sync", sync.run),
]
RESULTS = Path(__file__).parent / "results"
console = Console()


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    known = dict(BENCHES)
    unknown = [name for name in args.names if name not in known]
    if unknown:
        console.print(f"[red]unknown bench {unknown}; known: {list(known)}")
        return 2
    selected = [(n, f) for n, f in BENCHES if not args.names or n in args.names]
    fd_limit = raise_fd_limit()
    results: dict[str, Any] = {"started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                               "machine": _machine(fd_limit), "quick": args.quick,
                               "benches": [n for n, _ in selected], "rows": [], "errors": {}}
    servers = Servers()
    try:
        for name, run in selected:
            _run_one(name, run, Context(servers, quick=args.quick), results)
    finally:
        servers.close()
    _report(results, args.results)
    return 1 if results["errors"] else 0


def _run_one(name: str, run: Callable[[Context], list[Row]], ctx: Context,
             results: dict[str, Any]) -> None:
    console.print(f"[bold]bench {name}[/] …")
    start = time.monotonic()
    try:
        rows = run(ctx)
    except Exception as e:  # one failing bench must not lose the others' figures
        traceback.print_exc()
        results["errors"][name] = f"{type(e).__name__}: {e}"
        return
    console.print(f"  done in {time.monotonic() - start:.0f} s")
    results["rows"] += [asdict(row) for row in rows]


def _machine(fd_limit: int) -> dict[str, Any]:
    return {"cpus": os.cpu_count(), "platform": platform.platform(),
            "python": platform.python_version(), "fd_limit": fd_limit,
            "memory_mb": os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // 2**20}


def _report(results: dict[str, Any], folder: Path) -> None:
    table = Table(title=f"sync2gear benchmarks (loopback, {results['machine']['cpus']} CPUs)")
    for column, justify in (("measure", "left"), ("per s", "right"), ("p50 ms", "right"),
                            ("p99 ms", "right"), ("compared with / notes", "left")):
        table.add_column(column, justify=justify)  # type: ignore[arg-type]
    for row in results["rows"]:
        table.add_row(row["measure"], _fmt(row["per_s"], "{:,.0f}"),
                      _fmt(row["p50_ms"], "{:.1f}"), _fmt(row["p99_ms"], "{:.1f}"), row["note"])
    for name, error in results["errors"].items():
        table.add_row(f"[red]{name} failed", "", "", "", error)
    console.print(table)
    folder.mkdir(parents=True, exist_ok=True)
    out = folder / f"{time.strftime('%Y%m%d-%H%M%S')}.json"
    out.write_text(json.dumps(results, indent=2, default=str))
    console.print(f"written to {out}")


def _fmt(value: float | None, spec: str) -> str:
    return "" if value is None else spec.format(value)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("names", nargs="*", help=f"benches to run: {[n for n, _ in BENCHES]}")
    parser.add_argument("--quick", action="store_true", help="small sizes (tests the bench)")
    parser.add_argument("--results", type=Path, default=RESULTS, help="where to write JSON")
    return parser


if __name__ == "__main__":
    sys.exit(main())
