"""What every bench shares: the result row, the run context, percentiles.

A bench is a function `run(ctx: Context) -> list[Row]` in its own module,
registered by name in `bench/__main__.py`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from bench.servers import Servers


@dataclass
class Row:
    """One line of the table (and one object in the JSON)."""

    key: str  # stable identifier in the JSON, e.g. "http.next.16"
    measure: str  # what the table shows, e.g. "POST /api/playback/next/ (16 clients)"
    per_s: float | None = None
    p50_ms: float | None = None
    p99_ms: float | None = None
    note: str = ""  # the comparison with this run's baseline, or context
    data: dict[str, Any] = field(default_factory=dict)


@dataclass
class Context:
    servers: Servers
    quick: bool = False  # small sizes: for the test of the bench itself

    def size(self, full: int, quick: int) -> int:
        return quick if self.quick else full


def pct(values: list[float], p: float) -> float:
    """The p-quantile (0..1) of `values` by nearest rank."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * p))]


def ratio(value: float | None, baseline: float | None) -> str:
    if not value or not baseline:
        return "n/a"
    return f"{value / baseline:.1%}"
