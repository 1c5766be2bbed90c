"""Make a golden store: `python -m tests.golden.make_store tests/golden/stores/<date>`.

Starts today's code on a fresh database (DATABASE_URL / REDIS_URL if set, else
embedded servers), builds the store through the HTTP API (tests/golden/scenario.py),
waits for every read model, writes a backup (`infra.backup`) into the folder and
beside it `facts.json`: the secrets it was made with, its ids, tokens and passwords,
and everything the API showed of it at the end (tests/golden/observe.py).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
from fastapi.testclient import TestClient
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from domain.shapes import CATALOGUE
from infra.bootstrap import Container, bootstrap
from infra.embedded import EmbeddedServers
from interfaces.http.app import create_app
from tests.clock import Clock
from tests.conftest import make_settings
from tests.golden.observe import decisions, observe
from tests.golden.scenario import Golden, build

SECRETS = {"jwt_secret": "golden-store-jwt-secret-not-for-production-0001",
           "media_signing_key": "golden-store-media-key-not-for-production-0001"}
# Refresh tokens in the store must outlive it: a test reads them years from now.
REFRESH_TTL_SECONDS = 100 * 365 * 24 * 3600
# The scenario's clock starts this far behind the real one and moves a few minutes:
# everything it records has happened by the time anyone reads the store.
CLOCK_BEHIND = timedelta(minutes=20)


@contextmanager
def fresh_database() -> Iterator[tuple[str, str]]:
    """A new database and Redis URL on the configured servers, else embedded ones."""
    folder = Path(tempfile.mkdtemp(prefix="s2g-golden-servers-"))
    embedded = EmbeddedServers(folder)
    admin_url = os.environ.get("DATABASE_URL") or embedded.postgres_url()
    redis_url = os.environ.get("REDIS_URL") or embedded.redis_url()
    name = f"s2g_golden_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    info = {**conninfo_to_dict(admin_url), "dbname": name}
    try:
        yield make_conninfo("", **{k: v for k, v in info.items() if v is not None}), redis_url
    finally:
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        embedded.close()
        shutil.rmtree(folder, ignore_errors=True)


def make_store(out: Path) -> dict[str, Any]:
    """Build a golden store into `out` (which must not exist); returns its facts."""
    with fresh_database() as (database_url, redis_url), \
            tempfile.TemporaryDirectory(prefix="s2g-golden-") as tmp:
        settings = make_settings(
            database_url, {"redis_url": redis_url}, f"s2g-golden-{uuid.uuid4().hex[:8]}:",
            Path(tmp) / "data", projections_in_process=False, workers_in_process=True,
            refresh_token_ttl_seconds=REFRESH_TTL_SECONDS, **SECRETS)
        clock = Clock(datetime.now(UTC).replace(microsecond=0) - CLOCK_BEHIND)
        container = bootstrap(settings, start_projections=False, clock=clock)
        try:
            container.start_projections()
            with TestClient(create_app(container)) as http:
                golden = Golden(container, http, clock, Path(tmp))
                admin, owner = build(golden)
                facts = golden.facts
                seen = observe(owner, admin, facts["zone"]["id"], facts["people"]["client_id"])
            facts.update(_store_facts(container, facts["zone"]["id"]))
        finally:
            container.close()
        assert clock.now < datetime.now(UTC), "the scenario's clock ran ahead of time"
        facts["observed"] = seen
        facts["decisions"] = decisions(seen["history"])
        _write_backup(database_url, settings.media_root, out)
    facts.update(made_at=clock.now.isoformat(), secrets=SECRETS,
                 refresh_token_ttl_seconds=REFRESH_TTL_SECONDS, commit=_commit())
    (out / "facts.json").write_text(json.dumps(facts, indent=1, sort_keys=True) + "\n")
    # the stored shapes of the release that made it (the test asks for a new store
    # when the catalogue has moved on)
    shutil.copyfile(CATALOGUE, out / "stored_shapes.json")
    return facts


def _store_facts(container: Container, zone_id: str) -> dict[str, Any]:
    """The zone's snapshots and each application's last event."""
    with psycopg.connect(container.database_url) as conn:
        rows = conn.execute("SELECT originator_version FROM playback_snapshots"
                            " WHERE originator_id = %s ORDER BY 1", (uuid.UUID(zone_id),))
        snapshots = [r[0] for r in rows]
    assert snapshots, "the zone was never snapshotted"
    heads = {app.name: app.recorder.max_notification_id() or 0 for app in (
        container.accounts, container.library, container.playback, container.devices,
        container.scheduling)}
    return {"zone_snapshots": snapshots, "events": heads}


def _write_backup(database_url: str, media_root: Path, out: Path) -> None:
    from infra.backup import backup

    backup(database_url, media_root, out)


def _commit() -> str:
    """The commit the store was made by ("-dirty": with uncommitted changes)."""
    done = subprocess.run(["git", "describe", "--always", "--dirty", "--abbrev=40"],
                          capture_output=True, text=True, cwd=Path(__file__).parent,
                          check=False)
    return done.stdout.strip() or "unknown"


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print(__doc__.splitlines()[0], file=sys.stderr)
        return 2
    out = Path(argv[0])
    if out.exists() and any(out.iterdir()):
        print(f"{out} is not empty: a golden store is never remade", file=sys.stderr)
        return 1
    facts = make_store(out)
    print(f"golden store in {out}: zone at version {facts['observed']['zone_state']['version']}"
          f" (snapshots {facts['zone_snapshots']}), events {facts['events']}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
