"""Shared fixtures: a scratch Redis database and a scratch SQLite database per test.

Redis: TEST_REDIS_URL (default redis://127.0.0.1:6379/15) is flushed before
and after each test that uses it, so never point it at a database you keep.
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


@pytest.fixture
def database_url(tmp_path) -> str:
    return f"sqlite:///{tmp_path / 'test.sqlite3'}"


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
        # The Procfile says `python`: make that the interpreter running the tests.
        PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
    )
    env.pop("QUEUE_CONNECTION", None)
    return env


@pytest.fixture
def python() -> str:
    return sys.executable
