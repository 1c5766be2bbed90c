"""Real servers for the tests: the configured ones, else embedded ones.

Each test run gets its own PostgreSQL database and its own Redis key prefix,
and removes both at the end.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
import redis
from fastapi.testclient import TestClient
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from infra.bootstrap import Container, bootstrap
from infra.embedded import EmbeddedServers
from infra.settings import Settings
from interfaces.http.app import create_app


@pytest.fixture(scope="session")
def servers() -> Iterator[dict[str, str]]:
    """Server URLs: DATABASE_URL / REDIS_URL if set, else embedded ones.

    Embedded servers live outside pytest's temporary tree: another pytest run
    starting meanwhile resets that tree's permissions, which the embedded
    PostgreSQL (running as its own user) would then lose access to.
    """
    folder = Path(tempfile.mkdtemp(prefix="s2g-test-servers-"))
    embedded = EmbeddedServers(folder)
    database_url = os.environ.get("DATABASE_URL") or embedded.postgres_url()
    redis_url = os.environ.get("REDIS_URL") or embedded.redis_url()
    yield {"database_url": database_url, "redis_url": redis_url}
    embedded.close()
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="session")
def test_database(servers: dict[str, str]) -> Iterator[str]:
    """A database of this run's own, dropped at the end."""
    name = f"s2g_test_{uuid.uuid4().hex[:12]}"
    admin_url = servers["database_url"]
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    info = conninfo_to_dict(admin_url)
    info["dbname"] = name
    yield make_conninfo(**{k: v for k, v in info.items() if v is not None})
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def own_database(servers: dict[str, str]) -> Iterator[str]:
    """A database of this test's own: only what the test starts works on it."""
    name = f"s2g_own_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(servers["database_url"], autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    info = {**conninfo_to_dict(servers["database_url"]), "dbname": name}
    yield make_conninfo(**{k: v for k, v in info.items() if v is not None})
    with psycopg.connect(servers["database_url"], autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def locker(own_database: str) -> Iterator[Callable[[str, str], None]]:
    """`lock(table, mode)` holds a table lock of `own_database` in an open transaction
    until the test ends (as a stuck writer would)."""
    conn = psycopg.connect(own_database)

    def lock(table: str, mode: str) -> None:
        conn.execute(f"LOCK TABLE {table} IN {mode} MODE")

    yield lock
    conn.rollback()
    conn.close()


@pytest.fixture(scope="session")
def redis_prefix(servers: dict[str, str]) -> Iterator[str]:
    prefix = f"s2g-test-{uuid.uuid4().hex[:12]}:"
    yield prefix
    client = redis.Redis.from_url(servers["redis_url"])
    for key in client.scan_iter(match=f"{prefix}*", count=1000):
        client.delete(key)
    client.close()


# The tests sign up, log in and upload a great deal, all from one address: every
# rate limit is generous, but login per address + email, which tests check as shipped.
TEST_RATE_LIMITS: dict[str, Any] = {
    **{name: "1000000/minute" for name in Settings.model_fields if name.startswith("rate_limit_")},
    "rate_limit_login": "10/minute",
}


def make_settings(test_database: str, servers: dict[str, str], redis_prefix: str,
                  tmp: Path, **overrides: Any) -> Settings:
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        environment="test",
        database_url=test_database,
        redis_url=servers["redis_url"],
        redis_prefix=redis_prefix,
        data_dir=tmp,
        # Tests run their own scheduler, on a clock of their own, when they need one.
        **{"db_pool_size": 1, "db_max_overflow": 4, "scheduler_in_process": False,
           **TEST_RATE_LIMITS, **overrides},
    )


@pytest.fixture(scope="session")
def settings(test_database: str, servers: dict[str, str], redis_prefix: str,
             tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return make_settings(test_database, servers, redis_prefix, tmp_path_factory.mktemp("data"))


@pytest.fixture(scope="session")
def container(settings: Settings) -> Iterator[Container]:
    c = bootstrap(settings)
    yield c
    c.close()


@pytest.fixture(scope="session")
def client(container: Container) -> Iterator[TestClient]:
    with TestClient(create_app(container)) as c:
        yield c
