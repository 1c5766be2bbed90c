"""The `sync2gear` command line: run the system, run projections, manage users."""

from __future__ import annotations

import json
import signal
import threading
import uuid
from datetime import UTC, datetime
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from domain.accounts import Role
from domain.base import Actor, CommandContext, DomainError
from infra.bootstrap import Container, bootstrap, configure_logging, describe
from infra.settings import Settings

app = typer.Typer(help="sync2gear: background music and announcements, event-sourced.",
                  no_args_is_help=True)
console = Console()


@app.command()
def run(
    host: Annotated[str | None, typer.Option(help="bind address")] = None,
    port: Annotated[int | None, typer.Option(help="port")] = None,
) -> None:
    """Start the whole system: API, projections (and embedded servers if unconfigured)."""
    import uvicorn

    from interfaces.http.app import create_app

    settings = Settings()
    configure_logging(settings)
    container = bootstrap(settings)
    where = describe(container)
    host, port = host or settings.host, port or settings.port
    console.print(
        f"[bold green]sync2gear[/] on http://{host}:{port}  "
        f"(docs: http://{host}:{port}/api/docs; PostgreSQL {where['database']}, "
        f"Redis {where['redis']})"
    )
    uvicorn.run(create_app(container, owns_container=True), host=host, port=port,
                log_level=settings.log_level.lower())


@app.command()
def projections() -> None:
    """Run the projection runners (one active per projection) and the clocks."""
    settings = Settings()
    configure_logging(settings)
    container = bootstrap(settings, start_projections=True, start_workers=False)
    _serve(container, f"projections running: {[p.name for p in container.projections]}")


@app.command()
def scheduler() -> None:
    """Run the scheduler (one active at a time, however many are started)."""
    settings = Settings()
    configure_logging(settings)
    container = bootstrap(settings, start_projections=False, start_workers=False)
    container.start_clock(("scheduler",))
    _serve(container, f"scheduler running, every {settings.schedule_tick_seconds} s")


@app.command()
def worker(threads: Annotated[int, typer.Option(help="worker threads")] = 2) -> None:
    """Run background jobs (tags and cover art, text to speech) in this process."""
    settings = Settings()
    configure_logging(settings)
    container = bootstrap(settings, start_projections=False, start_workers=False)
    container.jobs.start_worker(threads)
    _serve(container, f"worker running with {threads} threads")


def _serve(container: Container, message: str) -> None:
    """Print `message`, then run until SIGINT or SIGTERM; close everything."""
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    console.print(message)
    stop.wait()
    container.close()


@app.command()
def history(
    zone: Annotated[str, typer.Argument(help="the zone's id")],
    at: Annotated[str | None, typer.Option(help="ISO time: print the zone's state then")] = None,
    since: Annotated[str | None, typer.Option("--from", help="ISO time")] = None,
    until: Annotated[str | None, typer.Option("--to", help="ISO time")] = None,
    limit: Annotated[int, typer.Option(help="most entries to list")] = 200,
) -> None:
    """A zone's history, or (with --at) its state at that moment, as the API gives it."""
    from interfaces.http.history import state_at
    from interfaces.http.zones import state_body

    container = bootstrap(Settings(), start_projections=False, start_workers=False)
    try:
        zone_id = uuid.UUID(zone)
        if at is not None:
            body = state_body(state_at(container, zone_id, _when(at)), container)
            console.print_json(json.dumps(body, default=str))
            return
        table = Table("version", "at", "who", "what")
        page = container.history_view.list_entries(
            zone_id, _when(since) if since else None, _when(until) if until else None, 0, limit)
        for row in page.rows:
            table.add_row(str(row["version"]), row["at"].isoformat(),
                          f"{row['actor_kind']}:{row['actor_id']}", row["summary"])
        console.print(table)
        console.print(f"{len(page.rows)} of {page.count} entries")
    except (ValueError, DomainError) as exc:
        raise typer.BadParameter(str(exc)) from None
    finally:
        container.close()


def _when(text: str) -> datetime:
    when = datetime.fromisoformat(text)
    return when if when.tzinfo else when.replace(tzinfo=UTC)


@app.command("create-user")
def create_user(
    email: Annotated[str, typer.Option(prompt=True)],
    name: Annotated[str, typer.Option(prompt=True)],
    password: Annotated[str, typer.Option(prompt=True, hide_input=True,
                                          confirmation_prompt=True)],
    role: Annotated[Role, typer.Option(help="staff or admin")] = Role.ADMIN,
) -> None:
    """Create a sync2gear staff or admin user (not tied to a client)."""
    if role is Role.CLIENT:
        raise typer.BadParameter("client users sign up through /api/auth/signup/")
    settings = Settings()
    container = bootstrap(settings, start_projections=False, start_workers=False)
    try:
        ctx = CommandContext(Actor.system("cli"), f"cli-{uuid.uuid4().hex}")
        user, _ = container.accounts.create_user(
            ctx, email=email, password=password, name=name, role=role, client_id=None
        )
        console.print(f"created {role.value} {user.email} ({user.id})")
    finally:
        container.close()


def main() -> None:
    app()
