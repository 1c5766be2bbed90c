"""PostgreSQL: connection settings for the event store, and the read-model views.

Nothing waits forever: every pooled connection carries a `statement_timeout` and a
`lock_timeout`, the event store's own `LOCK TABLE` uses POSTGRES_LOCK_TIMEOUT, and
a transaction left idle ends after POSTGRES_IDLE_IN_TRANSACTION_SESSION_TIMEOUT, and
a statement whose client has gone is cancelled (`client_connection_check_interval`). A
timeout is a psycopg OperationalError: eventsourcing retries the call, then the
HTTP layer answers 503 with Retry-After.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import psycopg
from eventsourcing.persistence import (
    AggregateRecorder,
    ApplicationRecorder,
    InfrastructureFactory,
    TrackingRecorder,
)
from eventsourcing.postgres import PostgresFactory, PostgresRecorder, PostgresTrackingRecorder
from eventsourcing.utils import Environment, strtobool
from psycopg.conninfo import conninfo_to_dict

from infra.postgres.events import LockingApplicationRecorder
from infra.postgres.names import tracking_table_name
from infra.postgres.schema import ensure_tables

TView = TypeVar("TView", bound=TrackingRecorder)
TRecorder = TypeVar("TRecorder")
STATEMENT_TIMEOUT = "S2G_STATEMENT_TIMEOUT_MS"
LOCK_TIMEOUT = "S2G_LOCK_TIMEOUT_MS"


class RecoveringPostgresFactory(PostgresFactory):
    """eventsourcing's PostgreSQL factory, with timeouts, one-statement saves
    (infra/postgres/events.py) and DDL only where needed (infra/postgres/schema.py).

    psycopg_pool retries a lost server with exponential back-off (1, 2, 4, ... s)
    for five minutes, so after an outage of a minute a pool could wait another
    minute before it noticed the server was back. Here a pool gives up a
    reconnection after POSTGRES_RECONNECT_TIMEOUT seconds, and the next request
    for a connection starts a new attempt at once.
    """

    application_recorder_class = LockingApplicationRecorder

    def __init__(self, env: Environment) -> None:
        super().__init__(env)
        pool = self.datastore.pool
        timeout = self.env.get("POSTGRES_RECONNECT_TIMEOUT")
        if timeout:
            pool.reconnect_timeout = float(timeout)
        options = session_options(int(self.env.get(STATEMENT_TIMEOUT) or 0),
                                  int(self.env.get(LOCK_TIMEOUT) or 0))
        if options and isinstance(pool.kwargs, dict):
            pool.kwargs["options"] = options

    def env_create_table(self) -> bool:
        return False  # the recorders below decide, with ensure_tables()

    def creates_tables(self) -> bool:
        return bool(strtobool(self.env.get(self.CREATE_TABLE) or "yes"))

    def aggregate_recorder(self, purpose: str = "events") -> AggregateRecorder:
        return self._ensured(super().aggregate_recorder(purpose))

    def application_recorder(self) -> ApplicationRecorder:
        return self._ensured(super().application_recorder())

    def tracking_recorder(self, tracking_recorder_class: Any = None) -> Any:
        """A view named after the environment (the projection), its tracking table
        named by its schema version (infra/postgres/names.py)."""
        if tracking_recorder_class is None:
            return self._ensured(super().tracking_recorder())
        assert issubclass(tracking_recorder_class, PostgresTrackingRecorder)
        return self._ensured(tracking_recorder_class(
            datastore=self.datastore,
            tracking_table_name=tracking_table_name(self.env.name, tracking_recorder_class)))

    def _ensured(self, recorder: TRecorder) -> TRecorder:
        if self.creates_tables() and isinstance(recorder, PostgresRecorder):
            ensure_tables(recorder)
        return recorder


# How often the server checks, during a long statement (a lock wait, say), that
# its client is still connected: a statement whose client died is cancelled,
# never committed after the fact (a save sent whole is one statement).
CLIENT_CHECK_MS = 2000


def session_options(statement_timeout_ms: int, lock_timeout_ms: int) -> str:
    """libpq `options` for every statement of a session: both timeouts, and the
    check that the client is still there."""
    parts = [f"-c statement_timeout={statement_timeout_ms}" if statement_timeout_ms else "",
             f"-c lock_timeout={lock_timeout_ms}" if lock_timeout_ms else "",
             f"-c client_connection_check_interval={CLIENT_CHECK_MS}"]
    return " ".join(p for p in parts if p)


def eventsourcing_env(database_url: str, *, pool_size: int, max_overflow: int,
                      pool_timeout: int = 5, reconnect_timeout: float = 300.0,
                      statement_timeout: float = 30.0, lock_timeout: int = 5,
                      idle_in_transaction_timeout: int = 5,
                      aggregate_cache_size: int = 5000) -> dict[str, str]:
    """Translate a PostgreSQL URL into the eventsourcing library's settings.

    `pool_timeout`: how long a call waits for a connection (eventsourcing tries
    each call up to 10 times); `reconnect_timeout`: see RecoveringPostgresFactory;
    `statement_timeout`, `lock_timeout`, `idle_in_transaction_timeout`: seconds
    before PostgreSQL cancels a statement, a lock wait, an idle transaction;
    `aggregate_cache_size`: aggregates each application keeps loaded (0: none).

    Connections are not pinged when taken from the pool (a round trip per call):
    one that the server dropped fails its call, the pool discards it, and
    eventsourcing retries the call on a fresh one. Cached aggregates are brought
    up to date ("fast-forward") with the events other processes saved since, one
    SELECT instead of a load from the last snapshot.
    """
    info = conninfo_to_dict(database_url)
    return {
        "PERSISTENCE_MODULE": f"{__name__}:{RecoveringPostgresFactory.__name__}",
        "POSTGRES_DBNAME": str(info.get("dbname") or "postgres"),
        "POSTGRES_HOST": str(info.get("host") or "localhost"),
        "POSTGRES_PORT": str(info.get("port") or "5432"),
        "POSTGRES_USER": str(info.get("user") or "postgres"),
        "POSTGRES_PASSWORD": str(info.get("password") or ""),
        "POSTGRES_POOL_SIZE": str(pool_size),
        "POSTGRES_MAX_OVERFLOW": str(max_overflow),
        "POSTGRES_CONNECT_TIMEOUT": str(pool_timeout),
        "POSTGRES_RECONNECT_TIMEOUT": str(reconnect_timeout),
        "POSTGRES_PRE_PING": "n",
        **({"AGGREGATE_CACHE_MAXSIZE": str(aggregate_cache_size),
            "AGGREGATE_CACHE_FASTFORWARD": "y"} if aggregate_cache_size else {}),
        # With concurrent writers, DB functions let subscriptions skip events.
        "POSTGRES_ENABLE_DB_FUNCTIONS": "n",
        "POSTGRES_LOCK_TIMEOUT": str(lock_timeout),
        "POSTGRES_IDLE_IN_TRANSACTION_SESSION_TIMEOUT": str(idle_in_transaction_timeout),
        STATEMENT_TIMEOUT: str(int(statement_timeout * 1000)),
        LOCK_TIMEOUT: str(lock_timeout * 1000),
        "CREATE_TABLE": "y",
    }


def construct_view(name: str, view_class: type[TView], env: dict[str, str]) -> TView:
    """A view (tracking recorder) configured as the projection runner would."""
    factory = InfrastructureFactory[TView].construct(env=Environment(name, env))
    view = factory.tracking_recorder(view_class)
    return view


def connect(database_url: str, statement_timeout: float = 10.0) -> psycopg.Connection[Any]:
    """An autocommit connection for short statements (leader locks), with timeouts."""
    ms = int(statement_timeout * 1000)
    return psycopg.connect(database_url, autocommit=True, connect_timeout=10,
                           options=session_options(ms, ms))


SCHEMA_LOCK_KEY = 0x5320_5C4E_4D41  # "S2G schema"


@contextmanager
def schema_lock(database_url: str, timeout: float = 120.0) -> Iterator[None]:
    """Serialise table creation across processes: PostgreSQL's `CREATE … IF NOT
    EXISTS` run concurrently can fail with 'tuple concurrently updated'. Waits at
    most `timeout` seconds for another process's DDL, then raises TimeoutError."""
    with connect(database_url) as conn:
        deadline = time.monotonic() + timeout
        while not _scalar(conn.execute("SELECT pg_try_advisory_lock(%s)", (SCHEMA_LOCK_KEY,))):
            if time.monotonic() > deadline:
                raise TimeoutError(f"another process held the schema lock for {timeout} s")
            time.sleep(0.1)
        try:
            yield
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", (SCHEMA_LOCK_KEY,))


def _scalar(cursor: psycopg.Cursor[Any]) -> Any:
    row = cursor.fetchone()
    return row[0] if row else None
