"""`python -m bench.markdown bench/results/<run>.json`: a run as README's table.

README's benchmark table is printed from a committed run's JSON by this, so the
table and the run it names cannot drift apart.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any


def table(results: dict[str, Any]) -> str:
    lines = ["| measure | per s | p50 ms | p99 ms | compared with / notes |",
             "|---|--:|--:|--:|---|"]
    for row in results["rows"]:
        cells = [row["measure"].strip(), _number(row["per_s"]), _number(row["p50_ms"]),
                 _number(row["p99_ms"]), row["note"]]
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    for name, error in results.get("errors", {}).items():
        lines.append(f"| {name} failed |  |  |  | {error} |")
    return "\n".join(lines)


def _number(value: float | None) -> str:
    if value is None or value != value:  # None or NaN
        return ""
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:.1f}"


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    print(table(json.loads(Path(argv[0]).read_text())))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
