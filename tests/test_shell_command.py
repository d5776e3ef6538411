"""`shell`: the models, settings, Redis and the job ready in a Python shell."""

from __future__ import annotations

import subprocess
import sys

from models import Setting
from tests.conftest import PROJECT_ROOT
from tests.factories import make_reseller
from worker.settings_store import INTERVAL_KEY, OVERRIDE_HASH_KEY


def run_shell(env: dict, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "manage.py", "shell", *args], cwd=PROJECT_ROOT, env=env, input=stdin,
                          capture_output=True, text=True, timeout=60)


def test_shell_command_reads_models_and_redis(db, real_redis, subprocess_env):
    make_reseller(name="acme")
    real_redis.hset(OVERRIDE_HASH_KEY, INTERVAL_KEY, "2")

    result = run_shell(subprocess_env, "-c",
                       "print(Reseller.get().name, settings.interval_minutes()[0], connection.ping(), "
                       "SyncResellerUsageJob.__name__, lock.state().holder, SyncRun.select().count())")

    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["acme", "2", "True", "SyncResellerUsageJob", "None", "0"]


def test_shell_command_writes_database(db, real_redis, subprocess_env):
    result = run_shell(subprocess_env, "-c", "Setting.set_value('reseller.usage_sync_interval_minutes', '3')")

    assert result.returncode == 0, result.stderr
    assert Setting.get(INTERVAL_KEY) == "3"


def test_shell_command_error_exits_one(db, real_redis, subprocess_env):
    result = run_shell(subprocess_env, "-c", "Reseller.get_by_id(999)")

    assert result.returncode == 1
    assert "ResellerDoesNotExist" in result.stderr


def test_shell_interactive_reads_stdin(db, real_redis, subprocess_env):
    make_reseller(name="from-stdin")

    result = run_shell(subprocess_env, "--plain", stdin="print(Reseller.get().name)\n")

    assert result.returncode == 0, result.stderr
    assert "from-stdin" in result.stdout
    assert "reseller-usage-sync shell" in result.stderr
