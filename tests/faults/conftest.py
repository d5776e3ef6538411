"""Fixtures for the fault tests: each test gets its own redis-server, SQLite file and simulated panels.

The fault tests never use the shared Redis on port 6379: they restart,
flood and lose their Redis on purpose, and other test runs may flush
database 15 at any moment.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from models import Panel, create_tables, database_proxy
from models.database import ensure_database
from simulator import PanelSpec, Simulator
from tests.conftest import PROJECT_ROOT
from tests.factories import make_config, make_panel, make_reseller
from tests.faults.support import PrivateRedis, ProcessGroup
from worker import config as config_module
from worker.config import Config
from worker.settings_store import INTERVAL_KEY, OVERRIDE_HASH_KEY

# A short lock window, so a lapse after SIGKILL takes seconds, not five minutes.
LOCK_TTL_SECONDS = 3
PANEL_PASSWORD = "fault-test-pass"


@pytest.fixture
def private_redis(tmp_path):
    workdir = tmp_path / "redis"
    workdir.mkdir()
    server = PrivateRedis(workdir).start()
    yield server
    server.stop()


@pytest.fixture
def redis_conn(private_redis):
    connection = private_redis.client()
    yield connection
    connection.close()


@pytest.fixture
def db_path(tmp_path) -> Path:
    return tmp_path / "faults.sqlite3"


@pytest.fixture
def fault_db(db_path) -> str:
    """A fresh SQLite database with every table; yields its URL."""
    url = f"sqlite:///{db_path}"
    ensure_database(url)
    with database_proxy.connection_context():
        create_tables()
    yield url
    if not database_proxy.is_closed():
        database_proxy.close()


@pytest.fixture
def fault_config(private_redis, fault_db) -> Config:
    """This process's Config: the private Redis, the SQLite file, a 3 s lock and retries without delay."""
    config = Config(redis_url=private_redis.url, database_url=fault_db, lock_ttl_seconds=LOCK_TTL_SECONDS,
                    retry_intervals_seconds=(0, 0))
    config_module.set_config(config)
    yield config
    config_module.set_config(None)


@pytest.fixture
def fault_env(private_redis, fault_db) -> dict:
    """Environment for worker and scheduler processes, matching `fault_config`."""
    env = dict(os.environ)
    env.update(
        REDIS_URL=private_redis.url,
        DATABASE_URL=fault_db,
        PYTHONPATH=str(PROJECT_ROOT),
        USAGE_SYNC_LOCK_TTL_SECONDS=str(LOCK_TTL_SECONDS),
        USAGE_SYNC_RETRY_INTERVALS="0,0",
        LOG_LEVEL="INFO",
        TZ="UTC",
        PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
    )
    env.pop("QUEUE_CONNECTION", None)
    return env


@pytest.fixture
def processes(tmp_path):
    """Processes a test starts; every one of them is killed with its children at the end."""
    group = ProcessGroup(tmp_path)
    yield group
    group.stop_all()


@pytest.fixture
def every_minute(redis_conn):
    """Make every tick due (interval 1 minute) through the Redis override."""
    redis_conn.hset(OVERRIDE_HASH_KEY, INTERVAL_KEY, "1")


@dataclass
class Fleet:
    """Simulated panels with users whose traffic grows, and the rows that track them."""

    simulator: Simulator
    panels: dict[str, Panel]
    config_ids: list[int]

    def set_latency(self, seconds: float) -> None:
        for name in self.panels:
            self.simulator.set_latency(name, seconds)


def seed_fleet(simulator: Simulator, resellers: int = 2, users_per_panel: int = 6,
               bytes_per_second: float = 50_000.0) -> Fleet:
    """Register every simulated panel and spread its users over `resellers` traffic resellers."""
    panels: dict[str, Panel] = {}
    config_ids: list[int] = []
    with database_proxy.connection_context():
        owners = [make_reseller(name=f"reseller-{index}") for index in range(resellers)]
        for name in simulator.panel_names:
            spec = simulator.panel(name).spec
            panels[name] = make_panel(name=name, type=spec.type, base_url=simulator.url_for(name),
                                      password=spec.password)
            for index in range(users_per_panel):
                username = f"{name}-user-{index}@example.com"
                simulator.add_user(name, username, used=1_000_000 * (index + 1), rate=bytes_per_second)
                config = make_config(owners[index % resellers], panels[name], username)
                config_ids.append(config.id)
    return Fleet(simulator, panels, config_ids)


@pytest.fixture
def fleet(fault_db):
    """A Marzban and a 3x-ui panel on 127.0.0.1, six growing users each, two resellers."""
    specs = [PanelSpec(name="marzban", type="marzban", password=PANEL_PASSWORD),
             PanelSpec(name="xui", type="xui", password=PANEL_PASSWORD, base_path="/panel/")]
    with Simulator(specs) as simulator:
        yield seed_fleet(simulator)
