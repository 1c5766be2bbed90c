"""The `sync2gear` command line's Typer app and its consoles."""

from __future__ import annotations

import typer
from rich.console import Console

app = typer.Typer(help="sync2gear: background music and announcements, event-sourced.",
                  no_args_is_help=True)
console = Console()
stderr = Console(stderr=True)
