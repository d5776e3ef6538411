"""SIGTERM to a busy or idle worker, alone or with its children, as a platform's stop sends it.

Workers run as the Procfile runs them, with `--with-scheduler`, so the
worker has a scheduler child besides the work horse.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time

import pytest
from rq import Queue
from rq.job import JobStatus

from tests.faults.support import (TickDriver, horse_pid, job_status, lock_holder, process_log, read_runs,
                                  wait_for_idle_worker)
from tests.workers import kill_process_tree, wait_for

PANEL_LATENCY_SECONDS = 1.0
EXIT_BOUND_SECONDS = 10
# Login and read at this latency take longer than EXIT_BOUND_SECONDS, so a horse that waited for its
# in-flight panel requests after SIGTERM would miss the bound.
SLOW_PANEL_LATENCY_SECONDS = 6.0


def _start_busy_worker(redis_conn, fault_config, fault_env, db_path, processes):
    """Start a worker and a sync, and wait until the sync's `sync_runs` row exists; return both."""
    worker = processes.start_worker(fault_env, "--with-scheduler")
    wait_for_idle_worker(redis_conn, worker)
    job_id = TickDriver(redis_conn, fault_config, period_seconds=1).tick_once().job_id
    assert wait_for(lambda: any(run.job_id == job_id and run.status == "running" for run in read_runs(db_path)),
                    20), process_log(worker)
    assert horse_pid(worker.pid) is not None
    return worker, job_id


def _wait_exit(process, timeout: float) -> float:
    """Wait for `process` to exit; return how long it took, or fail with its log."""
    started = time.monotonic()
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        raise AssertionError(f"worker still running {timeout} s after SIGTERM:\n{process_log(process)}") from None
    return time.monotonic() - started


def test_busy_worker_sigterm_finishes_job(redis_conn, fault_config, fault_env, db_path, processes, fleet,
                                          every_minute):
    fleet.set_latency(PANEL_LATENCY_SECONDS)
    worker, job_id = _start_busy_worker(redis_conn, fault_config, fault_env, db_path, processes)

    os.kill(worker.pid, signal.SIGTERM)
    seconds = _wait_exit(worker, 30)

    runs = [run for run in read_runs(db_path) if run.job_id == job_id]
    assert worker.returncode == 0, process_log(worker)
    assert job_status(redis_conn, job_id) == JobStatus.FINISHED
    assert [run.status for run in runs] == ["succeeded"]
    assert lock_holder(redis_conn) is None
    print(f"\nworker alone: exited {seconds:.1f}s after SIGTERM, once the sync finished")


def test_busy_sigterm_to_all_fails_cleanly(redis_conn, fault_config, fault_env, db_path, processes, fleet,
                                           every_minute):
    fleet.set_latency(SLOW_PANEL_LATENCY_SECONDS)
    worker, job_id = _start_busy_worker(redis_conn, fault_config, fault_env, db_path, processes)

    kill_process_tree(worker.pid, signal.SIGTERM)
    seconds = _wait_exit(worker, EXIT_BOUND_SECONDS)

    runs = [run for run in read_runs(db_path) if run.job_id == job_id]
    assert worker.returncode == 0, process_log(worker)
    assert [run.status for run in runs] == ["failed"]
    assert "JobInterruptedError" in runs[0].error
    assert lock_holder(redis_conn) is None
    # RQ still queues the attempt's retry; it will find the lock released and exit without syncing.
    assert job_id in Queue("default", connection=redis_conn).job_ids
    print(f"\nworker and horse: exited {seconds:.1f}s after SIGTERM; run failed: {runs[0].error}")


@pytest.mark.parametrize("whole_tree", [False, True], ids=["worker-alone", "with-children"])
def test_idle_worker_sigterm_exits(redis_conn, fault_env, processes, whole_tree):
    worker = processes.start_worker(fault_env, "--with-scheduler")
    wait_for_idle_worker(redis_conn, worker)

    if whole_tree:
        kill_process_tree(worker.pid, signal.SIGTERM)
    else:
        os.kill(worker.pid, signal.SIGTERM)
    seconds = _wait_exit(worker, EXIT_BOUND_SECONDS)

    assert worker.returncode == 0, process_log(worker)
    assert seconds < EXIT_BOUND_SECONDS
    print(f"\nidle worker ({'with children' if whole_tree else 'alone'}): exited {seconds:.2f}s after SIGTERM")
