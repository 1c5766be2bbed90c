"""Commands that run the system's processes, and a few that act on it as an operator."""

from __future__ import annotations

import json
import signal
import threading
import uuid
from datetime import UTC, datetime
from typing import Annotated

import typer
from rich.table import Table

from application.authz import Operator
from application.commands.admin import CreateUser
from domain.accounts import Role
from domain.base import DomainError
from infra.bootstrap import Container, bootstrap, describe
from infra.logs import configure_logging
from infra.settings import Settings
from interfaces.cli.console import app, console
from interfaces.shutdown import Deadline, DeadlineServer


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
    config = uvicorn.Config(
        create_app(container, owns_container=True), host=host, port=port,
        log_level=settings.log_level.lower(), proxy_headers=False,  # TRUSTED_PROXIES
        log_config=None,  # uvicorn's lines go through ours (infra/logs.py): JSON, request id
        # SIGTERM: requests (and sockets) get an eighth of the deadline to finish,
        # the runners half of it (Container.close), the last 1.5 s are the last resort.
        timeout_graceful_shutdown=max(1, round(settings.shutdown_timeout / 8)))
    server = DeadlineServer(config, _deadline(container))
    server.run()
    if not server.started:
        raise typer.Exit(3)


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
    """Print `message`, then run until SIGINT or SIGTERM; close everything (within
    SHUTDOWN_TIMEOUT: a thread still stuck then does not keep the process alive)."""
    stop, deadline = threading.Event(), _deadline(container)

    def on_signal(*_: object) -> None:
        deadline.arm()
        stop.set()

    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, on_signal)
    port = container.settings.metrics_port
    if port is not None and container.metrics is not None:
        container.metrics.serve(port)
        message += f"; metrics on :{port}/metrics"
    console.print(message)
    stop.wait()
    container.close()


def _deadline(container: Container) -> Deadline:
    """Armed by the first stop signal; at its end the owned embedded servers are
    told to stop at once and the process exits."""
    embedded = container.embedded
    return Deadline(container.settings.shutdown_timeout,
                    last_resort=embedded.kill if embedded is not None else lambda: None)


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
            state = state_at(container.history_view, container.playback, zone_id, _when(at))
            body = state_body(state, container.kernel.urls)
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
        user, _ = container.dispatcher.dispatch(Operator("cli"), CreateUser(
            email=email, password=password, name=name, role=role, client_id=None),
            f"cli-{uuid.uuid4().hex}")
        console.print(f"created {role.value} {user.email} ({user.id})")
    except DomainError as exc:
        console.print(f"[red]{exc.detail}[/]")
        raise typer.Exit(1) from None
    finally:
        container.close()
