"""The one leader primitive: named PostgreSQL advisory locks held on one connection.

Whatever must run once across every process (a projection, the playback ticker,
the presence sweeper, the scheduler) is led by whoever holds its lock; replay
holds the projections' locks while it rebuilds in place. A `Leader` opens its
own connection, takes the locks it can (never waiting: others stand by and try
again later), checks while it holds them that the connection still answers
(the locks live exactly as long as that session), and releases them on stop.
When the process dies, or its connection does, the server drops the locks and
a standby takes over.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import threading
from collections.abc import Iterable
from typing import Any

import psycopg

from infra.postgres import connect

log = logging.getLogger(__name__)


def leader_lock_key(name: str) -> int:
    """The advisory lock whose holder is the one active `name`."""
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)


class LeadershipLost(Exception):
    """The connection holding the locks is gone, and the locks with it."""


class Leader:
    """Advisory locks named `names`, held on one connection of its own.

    Thread-safe: a follower's thread acquires and checks while its views read
    `holds()`.
    """

    def __init__(self, database_url: str, names: Iterable[str]) -> None:
        self.names = tuple(dict.fromkeys(names))
        self._url = database_url
        self._conn: psycopg.Connection[Any] | None = None
        self._held: set[str] = set()
        self._lock = threading.Lock()

    @property
    def held(self) -> frozenset[str]:
        with self._lock:
            return frozenset(self._held)

    def holds(self, name: str) -> bool:
        with self._lock:
            return name in self._held

    def acquire(self, only: Iterable[str] | None = None) -> frozenset[str]:
        """Take every lock (of those in `only`, if given) not yet held that no other
        session holds; the locks held now. Raises LeadershipLost (holding nothing) if
        the connection fails."""
        chosen = None if only is None else set(only)
        wanted = [n for n in self.names if chosen is None or n in chosen]
        with self._lock:
            try:
                conn = self._connection()
                for name in wanted:
                    if name not in self._held and _scalar(conn.execute(
                            "SELECT pg_try_advisory_lock(%s)", (leader_lock_key(name),))):
                        self._held.add(name)
            except psycopg.Error as exc:
                self._drop()
                raise LeadershipLost(str(exc)) from exc
            return frozenset(self._held)

    def check(self) -> None:
        """Raise LeadershipLost (holding nothing) unless the locks' session still answers."""
        with self._lock:
            if self._conn is None:
                return
            try:
                self._conn.execute("SELECT 1")
            except psycopg.Error as exc:
                lost = sorted(self._held)
                self._drop()
                raise LeadershipLost(f"lost {lost}: {exc}") from exc

    def release(self) -> None:
        """Give up every lock (the next candidate takes over at once) and the connection."""
        with self._lock:
            if self._conn is not None and self._held:
                with contextlib.suppress(psycopg.Error):
                    self._conn.execute("SELECT pg_advisory_unlock_all()")
            self._drop()

    def __enter__(self) -> Leader:
        return self

    def __exit__(self, *_: object) -> None:
        self.release()

    def _connection(self) -> psycopg.Connection[Any]:
        if self._conn is None or self._conn.closed:
            self._held.clear()
            self._conn = connect(self._url)
        return self._conn

    def _drop(self) -> None:
        self._held.clear()
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(Exception):
                conn.close()


def _scalar(cursor: psycopg.Cursor[Any]) -> Any:
    row = cursor.fetchone()
    return row[0] if row else None
