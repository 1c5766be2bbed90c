"""The `sync2gear` command line: run the system, run projections, manage users, and
look after the store (replay, views, shapes, backup, restore)."""

from __future__ import annotations

from interfaces.cli import processes, store
from interfaces.cli.console import app

__all__ = ["app", "main", "processes", "store"]


def main() -> None:
    app()
