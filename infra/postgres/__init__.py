"""PostgreSQL: connection settings for the event store, and the read-model views."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TypeVar

import psycopg
from eventsourcing.persistence import InfrastructureFactory, TrackingRecorder
from eventsourcing.postgres import PostgresFactory
from eventsourcing.utils import Environment
from psycopg.conninfo import conninfo_to_dict

TView = TypeVar("TView", bound=TrackingRecorder)


class RecoveringPostgresFactory(PostgresFactory):
    """eventsourcing's PostgreSQL factory, whose pools find a restarted server quickly.

    psycopg_pool retries a lost server with exponential back-off (1, 2, 4, ... s)
    for five minutes, so after an outage of a minute a pool could wait another
    minute before it noticed the server was back. Here a pool gives up a
    reconnection after POSTGRES_RECONNECT_TIMEOUT seconds, and the next request
    for a connection starts a new attempt at once.
    """

    def __init__(self, env: Environment) -> None:
        super().__init__(env)
        timeout = self.env.get("POSTGRES_RECONNECT_TIMEOUT")
        if timeout:
            self.datastore.pool.reconnect_timeout = float(timeout)


def eventsourcing_env(database_url: str, *, pool_size: int, max_overflow: int,
                      pool_timeout: int = 5, reconnect_timeout: float = 300.0
                      ) -> dict[str, str]:
    """Translate a PostgreSQL URL into the eventsourcing library's settings.

    `pool_timeout`: how long a call waits for a connection (eventsourcing tries
    each call up to 10 times); `reconnect_timeout`: see RecoveringPostgresFactory.
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
        "POSTGRES_PRE_PING": "y",
        # With concurrent writers, DB functions let subscriptions skip events.
        "POSTGRES_ENABLE_DB_FUNCTIONS": "n",
        "CREATE_TABLE": "y",
    }


def construct_view(name: str, view_class: type[TView], env: dict[str, str]) -> TView:
    """A view (tracking recorder) configured as the projection runner would."""
    factory = InfrastructureFactory[TView].construct(env=Environment(name, env))
    view = factory.tracking_recorder(view_class)
    return view


SCHEMA_LOCK_KEY = 0x5320_5C4E_4D41  # "S2G schema"


@contextmanager
def schema_lock(database_url: str) -> Iterator[None]:
    """Serialise table creation across processes: PostgreSQL's `CREATE … IF NOT
    EXISTS` run concurrently can fail with 'tuple concurrently updated'."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("SELECT pg_advisory_lock(%s)", (SCHEMA_LOCK_KEY,))
        try:
            yield
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", (SCHEMA_LOCK_KEY,))
