"""`metrics`: Prometheus text from sync_runs and Redis, on stdout, in a file and over HTTP."""

from __future__ import annotations

import subprocess
import sys
from datetime import datetime, timedelta, timezone

import httpx
import pytest
from click.testing import CliRunner
from prometheus_client.parser import text_string_to_metric_families
from rq import Queue

from manage import cli
from models import SyncRun, database_proxy
from tests.conftest import PROJECT_ROOT
from tests.factories import make_reseller
from tests.servers import LOOPBACK, free_port, start_manage, stop_process, wait_for_http
from worker.unique_lock import UniqueLock


def parse(text: str) -> dict[tuple[str, tuple], float]:
    """Map (sample name, sorted labels) to value."""
    samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def metric(samples: dict, name: str, **labels) -> float:
    return samples[(f"usage_sync_{name}", tuple(sorted(labels.items())))]


def metrics_text(*args: str) -> str:
    result = CliRunner().invoke(cli, ["metrics", *args])
    assert result.exit_code == 0, result.output
    return result.stdout


def add_runs() -> datetime:
    """Add an old success, the latest success and a later failure; return the latest success's end."""
    base = datetime(2026, 3, 1, 10, 0)
    SyncRun.create(job_id="sync-old", status="succeeded", started_at=base, finished_at=base + timedelta(seconds=5),
                   duration_seconds=5.0, configs_synced=1)
    success_end = base + timedelta(minutes=5, seconds=7.5)
    SyncRun.create(job_id="sync-latest", status="succeeded", started_at=base + timedelta(minutes=5),
                   finished_at=success_end, duration_seconds=7.5, resellers=4, configs_synced=40, configs_failed=3,
                   panels_failed=1, pending_operations=2)
    SyncRun.create(job_id="sync-failed", status="failed", started_at=base + timedelta(minutes=10),
                   finished_at=base + timedelta(minutes=10, seconds=1.25), duration_seconds=1.25, error="boom")
    return success_end.replace(tzinfo=timezone.utc)


def test_metrics_from_sync_runs(db, real_redis, config):
    success_end = add_runs()

    samples = parse(metrics_text())

    assert metric(samples, "last_success_timestamp_seconds") == success_end.timestamp()
    assert metric(samples, "last_run_duration_seconds") == 1.25
    assert metric(samples, "last_run_succeeded") == 0
    assert metric(samples, "configs_synced") == 40
    assert metric(samples, "configs_failed") == 3
    assert metric(samples, "panels_failing") == 1
    assert metric(samples, "pending_remote_operations") == 2
    assert metric(samples, "runs", status="succeeded") == 2
    assert metric(samples, "runs", status="failed") == 1
    assert metric(samples, "healthy") == 0


def test_metrics_lock_and_queue_depth(db, real_redis, config):
    UniqueLock(real_redis, 300).acquire("sync-holder")
    queue = Queue("default", connection=real_redis)
    for minute in range(3):
        queue.enqueue_call("jobs.gate.run_gate", args=(f"2026-03-01T10:0{minute}Z",))

    samples = parse(metrics_text())

    assert metric(samples, "lock_held") == 1
    assert 0 < metric(samples, "lock_seconds_left") <= 300
    assert metric(samples, "queue_depth", queue="default") == 3
    assert metric(samples, "queue_depth", queue="high") == 0


def test_metrics_empty_database(db, real_redis, config):
    samples = parse(metrics_text())

    assert metric(samples, "last_success_timestamp_seconds") == 0
    assert metric(samples, "lock_held") == 0
    assert metric(samples, "runs", status="succeeded") == 0
    assert metric(samples, "interval_minutes") == 5


def test_metrics_after_real_sync_run(db, real_redis, subprocess_env):
    make_reseller(name="one")
    make_reseller(name="two")
    database_proxy.close()
    before = datetime.now(timezone.utc).timestamp()

    synced = subprocess.run([sys.executable, "manage.py", "sync", "run"], cwd=PROJECT_ROOT, env=subprocess_env,
                            capture_output=True, text=True, timeout=120)
    printed = subprocess.run([sys.executable, "manage.py", "metrics"], cwd=PROJECT_ROOT, env=subprocess_env,
                             capture_output=True, text=True, timeout=60)

    assert synced.returncode == 0, synced.stderr
    assert printed.returncode == 0, printed.stderr
    samples = parse(printed.stdout)
    assert metric(samples, "last_success_timestamp_seconds") >= before - 1
    assert metric(samples, "last_run_succeeded") == 1
    assert metric(samples, "last_run_duration_seconds") > 0
    assert metric(samples, "runs", status="succeeded") == 1
    assert metric(samples, "healthy") == 1


def test_metrics_output_file_atomic(db, real_redis, config, tmp_path):
    add_runs()
    target = tmp_path / "usage_sync.prom"
    target.write_text("stale\n")
    stale_inode = target.stat().st_ino

    printed = metrics_text("--output", str(target))

    assert printed == ""
    assert metric(parse(target.read_text()), "configs_synced") == 40
    # A new inode means the file was renamed into place, never rewritten where a reader could see half of it.
    assert target.stat().st_ino != stale_inode
    assert [path.name for path in tmp_path.iterdir() if path.name.startswith("usage_sync.prom.")] == []


def test_metrics_output_missing_folder(db, real_redis, config, tmp_path):
    result = CliRunner().invoke(cli, ["metrics", "--output", str(tmp_path / "absent" / "x.prom")])

    assert result.exit_code == 1
    assert "check that the folder exists and is writable" in result.output


@pytest.mark.parametrize("args", [["--output", "x.prom", "--serve", "0"], ["--host", "0.0.0.0"]])
def test_metrics_rejects_option_mix(db, real_redis, config, args):
    result = CliRunner().invoke(cli, ["metrics", *args])

    assert result.exit_code == 2


def test_metrics_serve_on_loopback(db, real_redis, subprocess_env, tmp_path):
    add_runs()
    database_proxy.close()
    port = free_port()
    log_path = tmp_path / "metrics.log"
    process = start_manage(["metrics", "--serve", str(port)], subprocess_env, log_path)
    try:
        first = wait_for_http(f"http://{LOOPBACK}:{port}/metrics", process, log_path)
        UniqueLock(real_redis, 300).acquire("sync-holder")
        second = httpx.get(f"http://{LOOPBACK}:{port}/metrics", timeout=5)
    finally:
        stop_process(process)

    assert first.status_code == 200
    assert metric(parse(first.text), "configs_synced") == 40
    assert metric(parse(first.text), "lock_held") == 0
    assert metric(parse(second.text), "lock_held") == 1
    assert f"Serving metrics on http://127.0.0.1:{port}/metrics" in log_path.read_text()
