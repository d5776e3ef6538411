"""A retry of an abandoned job that arrives after another sync took the lock does not sync.

Job A's worker and horse are killed together, so no worker retries A and
its lock lapses. The next tick dispatches job B. RQ then finds A abandoned in
its started registry and retries it; the retry runs while B holds the lock.
"""

from __future__ import annotations

import signal

from rq.job import Job, JobStatus
from rq.registry import StartedJobRegistry

from tests.faults.conftest import LOCK_TTL_SECONDS
from tests.faults.support import (TickDriver, job_status, lock_holder, process_log, read_runs,
                                  started_job_ids, wait_for_idle_worker)
from tests.workers import kill_process_tree, wait_for

PANEL_LATENCY_SECONDS = 1.0


def test_abandoned_retry_skips_sync(redis_conn, fault_config, fault_env, db_path, processes, fleet, every_minute):
    fleet.set_latency(PANEL_LATENCY_SECONDS)
    ticks = TickDriver(redis_conn, fault_config, period_seconds=1)
    first_worker = processes.start_worker(fault_env, "--without-scheduler")
    wait_for_idle_worker(redis_conn, first_worker)
    abandoned = ticks.tick_once().job_id
    assert wait_for(lambda: any(run.job_id == abandoned for run in read_runs(db_path)), 20), \
        process_log(first_worker)
    kill_process_tree(first_worker.pid, signal.SIGKILL)
    first_worker.wait(10)

    assert wait_for(lambda: lock_holder(redis_conn) is None, LOCK_TTL_SECONDS + 2)
    # Two idle workers: one takes B and holds the lock for its slow run, the other takes A's retry.
    for _ in range(2):
        wait_for_idle_worker(redis_conn, processes.start_worker(fault_env, "--without-scheduler"))
    successor = ticks.tick_once()
    assert successor.outcome == "dispatched"
    assert wait_for(lambda: job_status(redis_conn, successor.job_id) == JobStatus.STARTED, 20)
    # A worker's maintenance does this once A's heartbeat has expired, about 90 s after the kill.
    # The cut-off just past A's expiry leaves B, which started later, in the registry.
    registry = StartedJobRegistry("default", connection=redis_conn)
    expiries = {member.decode().split(":")[0]: score
                for member, score in redis_conn.zrange(registry.key, 0, -1, withscores=True)}
    registry.cleanup(timestamp=expiries[abandoned] + 0.001)
    assert started_job_ids(redis_conn) == [successor.job_id]
    assert wait_for(lambda: job_status(redis_conn, abandoned) == JobStatus.FINISHED, 20)
    holder_when_retried = lock_holder(redis_conn)
    assert wait_for(lambda: job_status(redis_conn, successor.job_id) == JobStatus.FINISHED, 20)

    result = Job.fetch(abandoned, connection=redis_conn).return_value()
    rows_of_abandoned = [run for run in read_runs(db_path) if run.job_id == abandoned]
    rows_of_successor = [run for run in read_runs(db_path) if run.job_id == successor.job_id]
    assert holder_when_retried == successor.job_id
    assert result["skipped"] is True
    assert result["lock_holder"] == successor.job_id
    assert [run.attempt for run in rows_of_abandoned] == [1]
    assert [run.status for run in rows_of_successor] == ["succeeded"]
    assert lock_holder(redis_conn) is None
    print(f"\nretry of the abandoned job returned {result} while {successor.job_id} held the lock")
