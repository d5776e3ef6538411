"""Shared fixtures: a scratch Redis database and a scratch SQL database per test.

Redis: TEST_REDIS_URL (default redis://127.0.0.1:6379/15) is flushed before
and after each test that uses it, so never point it at a database you keep.

SQL: every test that uses the `db` fixture runs once per enabled backend:
SQLite always, MariaDB/MySQL when TEST_MYSQL_URL is set and PostgreSQL when
TEST_POSTGRES_URL is set (each a server URL whose user may create and drop
databases). `@pytest.mark.backends("sqlite", ...)` narrows a test to some of
them, or spreads a test that needs an empty database (`database_url` without
`db`) over them. Other tests that need a database URL run on SQLite only.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import fakeredis
import pytest
import redis

from models import create_tables, database_proxy
from models.database import ensure_database
from tests.databases import ENABLED_BACKENDS, SERVER_URL_VARIABLES, scratch_database
from worker import config as config_module
from worker.config import Config

PROJECT_ROOT = Path(__file__).resolve().parent.parent
TEST_REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


@pytest.fixture
def redis_url() -> str:
    return TEST_REDIS_URL


@pytest.fixture
def real_redis(redis_url):
    connection = redis.Redis.from_url(redis_url)
    try:
        connection.ping()
    except redis.ConnectionError as error:
        pytest.fail(f"Redis at {redis_url} is not answering ({error}); start it or set TEST_REDIS_URL")
    connection.flushdb()
    yield connection
    connection.flushdb()
    connection.close()


@pytest.fixture(params=["real", "fake"])
def any_redis(request):
    """Real Redis and fakeredis (with Lua), so each Redis test runs on both."""
    if request.param == "fake":
        yield fakeredis.FakeRedis()
        return
    yield request.getfixturevalue("real_redis")


def pytest_configure(config) -> None:
    config.addinivalue_line("markers", "backends(*names): run the test only on these database backends")


def pytest_generate_tests(metafunc) -> None:
    """Run every test that uses `db` or has a `backends` marker once per enabled backend it allows."""
    marker = metafunc.definition.get_closest_marker("backends")
    if "backend" not in metafunc.fixturenames or (marker is None and "db" not in metafunc.fixturenames):
        return
    wanted = marker.args if marker else ENABLED_BACKENDS
    backends = [backend for backend in wanted if backend in ENABLED_BACKENDS]
    if not backends:
        missing = ", ".join(SERVER_URL_VARIABLES.get(backend, backend) for backend in wanted)
        metafunc.parametrize("backend", [pytest.param(None, marks=pytest.mark.skip(
            reason=f"needs a server backend; set {missing}"))], indirect=True)
        return
    metafunc.parametrize("backend", backends, indirect=True)


@pytest.fixture
def backend(request) -> str:
    """The database backend of this test run: "sqlite", "mysql" or "postgres"."""
    return getattr(request, "param", "sqlite")


@pytest.fixture
def database_url(backend, tmp_path):
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'test.sqlite3'}"
        return
    with scratch_database(backend) as url:
        yield url


@pytest.fixture
def db(database_url):
    ensure_database(database_url)
    with database_proxy.connection_context():
        create_tables()
    yield database_proxy
    if not database_proxy.is_closed():
        database_proxy.close()


@pytest.fixture
def config(redis_url, database_url) -> Config:
    """The process Config for a test, pointing at the scratch Redis and database."""
    test_config = Config(redis_url=redis_url, database_url=database_url, retry_intervals_seconds=(0, 0))
    config_module.set_config(test_config)
    yield test_config
    config_module.set_config(None)


@pytest.fixture
def subprocess_env(redis_url, database_url) -> dict:
    """Environment for the project's own processes (worker, scheduler, manage.py)."""
    env = dict(os.environ)
    env.update(
        REDIS_URL=redis_url,
        DATABASE_URL=database_url,
        PYTHONPATH=str(PROJECT_ROOT),
        USAGE_SYNC_RETRY_INTERVALS="0,0",
        LOG_LEVEL="DEBUG",
        TZ="UTC",
        # The Procfile runs `python`, so put the interpreter running the tests first on PATH.
        PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
    )
    env.pop("QUEUE_CONNECTION", None)
    return env


@pytest.fixture
def python() -> str:
    return sys.executable
