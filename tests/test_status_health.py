"""`status`: health verdict, exit codes, workers, lock and queues."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime, timedelta, timezone

import pytest
from click.testing import CliRunner
from rq import Queue, Worker

from manage import cli
from models import SyncRun
from monitoring.health import assess_health, health_threshold_seconds
from tests.conftest import PROJECT_ROOT
from worker.settings_store import INTERVAL_KEY, OVERRIDE_HASH_KEY
from worker.unique_lock import UniqueLock

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=timezone.utc)


def naive_utc_ago(seconds: float) -> datetime:
    return (datetime.now(timezone.utc) - timedelta(seconds=seconds)).replace(tzinfo=None)


def add_run(status: str, finished_seconds_ago: float, **fields) -> SyncRun:
    finished = naive_utc_ago(finished_seconds_ago)
    return SyncRun.create(job_id=f"sync-{status}-{finished_seconds_ago}", status=status,
                          started_at=finished - timedelta(seconds=2), finished_at=finished, duration_seconds=2.0,
                          **fields)


def status(*args: str):
    return CliRunner().invoke(cli, ["status", *args])


@pytest.mark.parametrize(("interval", "expected"), [(1, 780), (2, 960), (3, 1140), (4, 1320), (5, 1500)])
def test_threshold_per_interval(interval, expected):
    assert health_threshold_seconds(interval, 600) == expected


def test_health_at_threshold_is_healthy():
    verdict = assess_health(NOW - timedelta(seconds=1500), NOW, 5, 600)

    assert verdict.healthy
    assert verdict.threshold_seconds == 1500


def test_health_past_threshold_is_unhealthy():
    verdict = assess_health(NOW - timedelta(seconds=1501), NOW, 5, 600)

    assert not verdict.healthy
    assert "1501 s ago, more than the 3 x 5-minute interval + 600 s job timeout = 1500 s" in verdict.reason


def test_health_without_success_is_unhealthy():
    verdict = assess_health(None, NOW, 5, 600)

    assert not verdict.healthy
    assert verdict.reason.startswith("no sync has succeeded yet")


def test_status_healthy_exit_zero(db, real_redis, config):
    add_run("succeeded", 60, resellers=3, configs_synced=10)

    result = status()

    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("Health:  healthy:")


def test_status_unhealthy_exit_one(db, real_redis, config):
    add_run("succeeded", 1600)
    add_run("failed", 30, error="PanelError: timed out")

    result = status("--json")

    data = json.loads(result.stdout)
    assert result.exit_code == 1
    assert data["healthy"] is False
    assert data["health"]["threshold_seconds"] == 1500
    assert data["last_runs"][0]["status"] == "failed"
    assert data["last_runs"][0]["error"] == "PanelError: timed out"
    assert data["last_runs"][0]["duration_seconds"] == 2.0


def test_status_no_runs_unhealthy(db, real_redis, config):
    result = status()

    assert result.exit_code == 1
    assert "UNHEALTHY: no sync has succeeded yet" in result.stdout
    assert "none yet" in result.stdout


def test_status_threshold_follows_interval(db, real_redis, config):
    add_run("succeeded", 1000)
    healthy_at_five = status("--json")
    real_redis.hset(OVERRIDE_HASH_KEY, INTERVAL_KEY, "1")
    unhealthy_at_one = status("--json")

    assert healthy_at_five.exit_code == 0
    assert unhealthy_at_one.exit_code == 1
    assert json.loads(unhealthy_at_one.stdout)["health"]["threshold_seconds"] == 780


def test_status_only_failures_is_unhealthy(db, real_redis, config):
    add_run("failed", 10, error="OperationalError: database is locked")

    result = status("--json")

    assert result.exit_code == 1
    assert json.loads(result.stdout)["health"]["last_success_at"] is None


def test_status_shows_lock_queues_and_workers(db, real_redis, config):
    add_run("succeeded", 5)
    UniqueLock(real_redis, 300).acquire("sync-holder")
    Queue("default", connection=real_redis).enqueue_call("jobs.gate.run_gate", args=("2026-03-01T10:00Z",))
    worker = Worker([Queue("default", connection=real_redis)], connection=real_redis, name="status-test-worker")
    worker.register_birth()
    try:
        result = status("--json")
    finally:
        worker.register_death()

    data = json.loads(result.stdout)
    assert data["lock"]["holder"] == "sync-holder"
    assert 0 < data["lock"]["seconds_left"] <= 300
    assert data["queues"]["default"] == 1
    assert [row["name"] for row in data["workers"]] == ["status-test-worker"]
    assert data["workers"][0]["queues"] == ["default"]


def test_status_process_exit_codes(db, real_redis, subprocess_env):
    # The command as a platform health check runs it: a process and its exit code.
    command = [sys.executable, "manage.py", "status"]
    unhealthy = subprocess.run(command, cwd=PROJECT_ROOT, env=subprocess_env, capture_output=True, text=True,
                               timeout=60)
    add_run("succeeded", 1)
    healthy = subprocess.run(command, cwd=PROJECT_ROOT, env=subprocess_env, capture_output=True, text=True,
                             timeout=60)

    assert unhealthy.returncode == 1, unhealthy.stderr
    assert healthy.returncode == 0, healthy.stderr


def test_status_redis_down_exit_one(db, subprocess_env):
    env = {**subprocess_env, "REDIS_URL": "redis://127.0.0.1:1/0"}

    result = subprocess.run([sys.executable, "manage.py", "status"], cwd=PROJECT_ROOT, env=env,
                            capture_output=True, text=True, timeout=60)

    assert result.returncode == 1
    assert "Redis at redis://127.0.0.1:1/0 failed: ConnectionError" in result.stderr
    assert "Traceback" not in result.stderr
