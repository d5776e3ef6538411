"""A dispatch that lands while a worker is shutting down is not lost.

RQ 2.12: an idle worker that gets SIGTERM spends up to about a second
stopping its scheduler child inside the signal handler. A job enqueued
meanwhile is popped by the worker's pending BLPOP on the server and then
dropped when the handler raises, so it stays `queued` in no queue, and its
dispatch's lock stays held. When the scheduler child stops within the
dispatch delay the job stays in its queue instead, so the test tries the
sequence up to MAX_TRIES times.
The gate's orphan recovery releases such a lock once it is older than
USAGE_SYNC_ORPHAN_LOCK_GRACE_SECONDS, and dispatches again in the same tick.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time

from rq import Queue
from rq.job import JobStatus

from tests.conftest import PROJECT_ROOT
from tests.faults.support import (TickDriver, job_status, lock_holder, process_log,
                                  queued_job_ids, read_runs, started_job_ids, wait_for_idle_worker)
from tests.workers import wait_for
from worker.unique_lock import UniqueLock

DISPATCH_DELAY_SECONDS = 0.05
GRACE_SECONDS = 2
MAX_TRIES = 4


def _schedule_run(env: dict, tick: str) -> str:
    """Run `manage.py schedule run --at TICK` and return its output."""
    done = subprocess.run([sys.executable, "manage.py", "schedule", "run", "--at", tick], cwd=PROJECT_ROOT,
                          env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout


def _dispatch_during_shutdown(redis_conn, ticks: TickDriver, env: dict, processes) -> tuple[str, object]:
    """Send SIGTERM to an idle worker, dispatch 50 ms later and wait for the worker to exit."""
    worker = processes.start_worker(env)
    wait_for_idle_worker(redis_conn, worker)
    worker.send_signal(signal.SIGTERM)
    time.sleep(DISPATCH_DELAY_SECONDS)  # the injected timing: the dispatch lands during the shutdown
    job_id = ticks.tick_once().job_id
    worker.wait(10)
    return job_id, worker


def test_dispatch_during_shutdown_recovers(redis_conn, fault_config, fault_env, db_path, processes, fleet,
                                           every_minute):
    ticks = TickDriver(redis_conn, fault_config, period_seconds=1)
    reproduced = False
    for tries in range(1, MAX_TRIES + 1):
        lost, worker = _dispatch_during_shutdown(redis_conn, ticks, fault_env, processes)
        if lost not in queued_job_ids(redis_conn):
            reproduced = True
            break
        # The worker exited before the job arrived: withdraw it and try again.
        Queue("default", connection=redis_conn).remove(lost)
        UniqueLock(redis_conn).release(lost)

    assert reproduced, f"every worker exited before its dispatch arrived, in {MAX_TRIES} tries"
    assert worker.returncode == 0, process_log(worker)
    assert job_status(redis_conn, lost) == JobStatus.QUEUED
    assert lost not in queued_job_ids(redis_conn)
    assert lost not in started_job_ids(redis_conn)
    assert read_runs(db_path) == []
    assert lock_holder(redis_conn) == lost

    # With the default 30 s grace the lost job's lock is still respected.
    early = _schedule_run(fault_env, "2030-01-01T01:00Z")
    taken_at = UniqueLock(redis_conn).state().taken_at
    assert wait_for(lambda: time.time() - taken_at >= GRACE_SECONDS, GRACE_SECONDS + 1)
    short_grace = {**fault_env, "USAGE_SYNC_ORPHAN_LOCK_GRACE_SECONDS": str(GRACE_SECONDS)}
    recovered = _schedule_run(short_grace, "2030-01-01T01:01Z")
    replacement = lock_holder(redis_conn)

    assert early.strip().endswith("already queued or running")
    assert "dispatched" in recovered
    assert replacement is not None
    assert replacement != lost
    assert replacement in recovered
    new_worker = processes.start_worker(fault_env)
    assert wait_for(lambda: job_status(redis_conn, replacement) == JobStatus.FINISHED, 30), process_log(new_worker)
    assert [(run.job_id, run.status) for run in read_runs(db_path)] == [(replacement, "succeeded")]
    print(f"\nlost job {lost} after {tries} tries: queued in no queue; with a 30 s grace: {early.strip()!r}; "
          f"with a {GRACE_SECONDS} s grace: {recovered.strip()!r}")
