"""Commands that look after the store: replay and view versions, stored shapes, backups."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TransferSpeedColumn,
)
from rich.table import Table
from rich.text import Text

from domain.shapes import (
    CATALOGUE,
    current_shapes,
    load_catalogue,
    problems,
    save_catalogue,
    updated,
)
from infra.backup import BackupError, Manifest, backup, local_media_root, restore
from infra.bootstrap import bootstrap
from infra.embedded import EmbeddedServers
from infra.replay import ReplayError, replay
from infra.replay_check import Report
from infra.settings import Settings
from infra.view_versions import SupersededInUse
from interfaces.cli.console import app, console, stderr


@app.command("replay")
def replay_command(
    in_place: Annotated[bool, typer.Option(
        "--in-place", help="disaster recovery: drop the live read models and rebuild them "
        "where they are (stop every projection runner first)")] = False,
    keep: Annotated[bool, typer.Option(help="keep the scratch schema to inspect")] = False,
    view: Annotated[list[str] | None, typer.Option(
        help="only this read model (repeatable); default: all")] = None,
    batch: Annotated[int, typer.Option(min=1, help="events per transaction")] = 1000,
) -> None:
    """Rebuild every read model from the event store and compare it with the live one."""
    container = bootstrap(Settings(), start_projections=False, start_workers=False)
    columns = (TextColumn("{task.description:<16}"), BarColumn(),
               TextColumn("{task.completed:>9,.0f}/{task.total:,.0f}"),
               TextColumn("{task.fields[events]:>9,} events"), TimeElapsedColumn())
    try:
        with Progress(*columns, console=console) as progress:
            tasks: dict[str, TaskID] = {}

            def show(name: str, events: int, position: int, target: int) -> None:
                if name not in tasks:
                    tasks[name] = progress.add_task(name, total=target, events=0)
                progress.update(tasks[name], completed=position, total=target, events=events)

            report = replay(container, in_place=in_place, keep=keep, views=view, page=batch,
                            on_progress=show)
    except ReplayError as exc:
        console.print(f"[red]{exc}[/]")
        raise typer.Exit(2) from None
    finally:
        container.close()
    _print_replay(report)
    if report.differences or report.unverified:
        raise typer.Exit(1)


def _print_replay(report: Report) -> None:
    table = Table("read model", "events", "events/s", "rows", "differences", "note")
    for result in report.views:
        table.add_row(result.name, f"{result.events:,}", f"{result.rate:,.0f}",
                      f"{sum(t.rows for t in result.tables):,}",
                      "-" if report.in_place else str(result.differences), result.note)
    console.print(table)
    for result in report.views:
        for check in (t for t in result.tables if t.differences):
            console.print(f"[red]{result.name}.{check.table}[/]: {check.live_only} live rows "
                          f"not rebuilt, {check.rebuilt_only} rebuilt rows not live "
                          f"{check.problem}")
            for side, row in check.samples:
                console.print(f"  {side}: {row}")
        excluded = [f"{t.table}.{c}" for t in result.tables for c in t.excluded]
        if excluded:
            console.print(f"{result.name}: not compared (not derived from events): {excluded}")
    if report.skipped:
        console.print(f"side effects, not replayed: {', '.join(report.skipped)}")
    for name, head in report.advanced.items():
        console.print(f"{name}: moved to position {head}")
    if report.in_place:
        console.print("rebuilt in place (nothing to compare with)")
    else:
        console.print(f"{report.differences} differences (scratch schema {report.schema})")


@app.command("views")
def views_command(
    drop_superseded: Annotated[bool, typer.Option(
        "--drop-superseded", help="drop the tables of view versions a newer, built version "
        "replaces (only once every process runs the new release)")] = False,
    view: Annotated[list[str] | None, typer.Option(
        help="with --drop-superseded: only this view (repeatable); default: all")] = None,
) -> None:
    """Every read model's versions: tables, position, lag, and which are superseded."""
    container = bootstrap(Settings(), start_projections=False, start_workers=False)
    try:
        if drop_superseded:
            try:
                dropped = container.view_versions.drop_superseded(view)
            except (SupersededInUse, ValueError) as exc:
                console.print(f"[red]{exc}[/]")
                raise typer.Exit(1) from None
            console.print(f"dropped {', '.join(dropped)}" if dropped
                          else "no superseded view versions")
        table = Table("view", "version", "tables", "position", "lag", "state")
        for state in container.view_versions.describe():
            status = ("superseded" if state.superseded else
                      "built" if state.built else "building")
            if state.current:
                status += " (this release)"
            missing = len(state.tables) + 1 - len(state.existing)
            tables = ", ".join(state.existing) + (f" ({missing} missing)" if missing else "")
            table.add_row(state.view, str(state.version), tables, f"{state.position:,}",
                          "-" if state.lag is None else f"{state.lag:,}", status)
        console.print(table)
    finally:
        container.close()


@app.command("shapes")
def shapes_command(
    update: Annotated[bool, typer.Option(
        "--update", help="record this release's new shapes and versions in the catalogue "
        "(never rewrites a recorded version)")] = False,
) -> None:
    """Check the stored shapes (events, snapshots, stored values) against the committed
    catalogue, domain/stored_shapes.json; exit 1 on any problem."""
    catalogue, current = load_catalogue(), current_shapes()
    if update:
        catalogue = updated(catalogue, current)
        save_catalogue(catalogue)
        console.print(f"recorded {len(current)} stored shapes in {CATALOGUE}")
    found = problems(catalogue, current)
    for problem in found:
        console.print(f"[red]{problem}[/]", soft_wrap=True)
    if found:
        raise typer.Exit(1)
    console.print(f"{len(current)} stored shapes, all readable and on record")


@app.command("backup")
def backup_command(dest: Annotated[Path, typer.Argument(
        help="a new (or empty) folder for the backup")]) -> None:
    """Back up the database and the local media files into DEST, while the system runs."""
    manifest, _ = _transfer(lambda url, media_root, bin_dir, show: backup(
        url, media_root, dest, bin_dir=bin_dir, on_progress=show))
    size = sum(f.stat().st_size for f in dest.rglob("*") if f.is_file())
    console.print(f"backed up into {dest} ({size / 1e6:,.1f} MB): events up to "
                  f"{_positions(manifest.events)}, {len(manifest.media):,} media files",
                  soft_wrap=True)


@app.command("restore")
def restore_command(src: Annotated[Path, typer.Argument(
        help="a folder written by `sync2gear backup`")]) -> None:
    """Restore the backup in SRC into an empty database and an empty media folder."""
    manifest, media_root = _transfer(lambda url, media_root, bin_dir, show: restore(
        src, url, media_root, bin_dir=bin_dir, on_progress=show))
    console.print(f"restored the backup of {manifest.created_at:%Y-%m-%d %H:%M:%S %Z} "
                  f"(release {manifest.release}): events up to {_positions(manifest.events)}, "
                  f"{len(manifest.media):,} media files into {media_root}", soft_wrap=True)


def _transfer(run: Callable[[str, Path, Path | None, Callable[[str, int, int | None], None]],
                             Manifest]) -> tuple[Manifest, Path]:
    """Run a backup or restore on the configured database and media folder, with
    progress bars; a refusal is a red line on stderr and exit code 1."""
    settings = Settings()
    try:
        media_root = local_media_root(settings)
        with _database_url(settings) as url, _transfers() as show:
            return run(url, media_root, settings.pg_bin_dir, show), media_root
    except BackupError as exc:
        stderr.print(Text(str(exc), style="red"), soft_wrap=True)
        raise typer.Exit(1) from None


def _positions(events: dict[str, int]) -> str:
    return ", ".join(f"{name} #{last:,}" for name, last in sorted(events.items()))


@contextmanager
def _database_url(settings: Settings) -> Iterator[str]:
    """DATABASE_URL, else the embedded PostgreSQL under DATA_DIR (as `bootstrap` decides,
    without creating any table: a restore needs an empty database)."""
    if settings.database_url:
        yield settings.database_url
        return
    embedded = EmbeddedServers(settings.data_dir)
    try:
        yield embedded.postgres_url()
    finally:
        embedded.close()


@contextmanager
def _transfers() -> Iterator[Callable[[str, int, int | None], None]]:
    """Progress bars of bytes, one per stage ("database", "media"), shown from the
    first progress on (a refusal before it is one line, no empty bars)."""
    progress = Progress(TextColumn("{task.description:<9}"), BarColumn(), DownloadColumn(),
                        TransferSpeedColumn(), TimeElapsedColumn(), console=console)
    tasks: dict[str, TaskID] = {}

    def show(stage: str, done: int, total: int | None) -> None:
        if not tasks:
            progress.start()
        if stage not in tasks:
            tasks[stage] = progress.add_task(stage, total=total)
        progress.update(tasks[stage], completed=done, total=total)

    try:
        yield show
    finally:
        if tasks:
            progress.stop()
