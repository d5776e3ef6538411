"""The database fails during a sync: the job fails and retries, nothing is half-written, the lock is released.

As root, chmod does not make a SQLite file read-only, so two other faults
stand in. The first is a trigger that rejects every write to `resellers`.
Another connection creates it while the sync reads its panels, so each
reseller's transaction fails after its configs' counters were written. The
second replaces the database file by a directory.
"""

from __future__ import annotations

import shutil
import sqlite3

from rq.job import Job, JobStatus

from jobs.sync_reseller_usage import SyncResellerUsageJob
from models import database_proxy
from tests.faults.support import (Sampler, TickDriver, job_status, lock_holder, process_log, read_consumed,
                                  read_runs, reseller_mismatches, wait_for_idle_worker)
from tests.workers import wait_for
from usage.engine import UsageSync

PANEL_LATENCY_SECONDS = 0.5
INJECTED_MESSAGE = "resellers is read-only (injected fault)"
REJECT_RESELLER_WRITES = f"""
CREATE TRIGGER reject_reseller_writes BEFORE UPDATE ON resellers
BEGIN SELECT RAISE(ABORT, '{INJECTED_MESSAGE}'); END
"""


def _sync_inline() -> None:
    with database_proxy.connection_context():
        UsageSync().run()


def _execute(db_path, sql: str) -> None:
    with sqlite3.connect(db_path, timeout=10) as connection:
        connection.execute(sql)


def test_readonly_table_rolls_back_reseller(redis_conn, fault_config, fault_env, db_path, processes, fleet,
                                            every_minute):
    _sync_inline()
    before = read_consumed(db_path)
    fleet.set_latency(PANEL_LATENCY_SECONDS)
    worker = processes.start_worker(fault_env, "--without-scheduler")
    wait_for_idle_worker(redis_conn, worker)
    ticks = TickDriver(redis_conn, fault_config, period_seconds=1)
    sampler = Sampler(redis_conn, db_path).start()
    try:
        job_id = ticks.tick_once().job_id
        assert wait_for(lambda: any(run.job_id == job_id for run in read_runs(db_path)), 20), process_log(worker)
        _execute(db_path, REJECT_RESELLER_WRITES)
        assert wait_for(lambda: job_status(redis_conn, job_id) == JobStatus.FAILED, 30), process_log(worker)
    finally:
        sampler.stop()

    runs = read_runs(db_path)
    holders = {sample.holder for sample in sampler.samples}
    assert [(run.attempt, run.status) for run in runs] == [(1, "failed"), (2, "failed"), (3, "failed")]
    assert all(INJECTED_MESSAGE in run.error for run in runs)
    assert read_consumed(db_path) == before
    assert reseller_mismatches(db_path) == []
    assert sampler.decreases() == []
    assert holders <= {job_id, None}
    assert lock_holder(redis_conn) is None
    print(f"\nread-only table: attempts {[run.attempt for run in runs]} failed with {runs[-1].error!r}")

    _execute(db_path, "DROP TRIGGER reject_reseller_writes")
    recovered = ticks.tick_once().job_id
    assert wait_for(lambda: job_status(redis_conn, recovered) == JobStatus.FINISHED, 30), process_log(worker)
    after = read_consumed(db_path)
    assert all(after[config_id] > before[config_id] for config_id in before)
    assert reseller_mismatches(db_path) == []


def test_database_replaced_by_directory(redis_conn, fault_config, fault_env, db_path, tmp_path, processes, fleet):
    _sync_inline()
    before = read_consumed(db_path)
    worker = processes.start_worker(fault_env, "--without-scheduler")
    wait_for_idle_worker(redis_conn, worker)
    aside = tmp_path / "aside"
    aside.mkdir()
    for suffix in ("", "-wal", "-shm"):
        source = db_path.with_name(db_path.name + suffix)
        if source.exists():
            shutil.move(source, aside / source.name)
    db_path.mkdir()
    try:
        # The gate reads the interval from the database too, so the job is dispatched directly.
        job = SyncResellerUsageJob.dispatch(redis_conn, fault_config)
        assert wait_for(lambda: job_status(redis_conn, job.id) == JobStatus.FAILED, 30), process_log(worker)
        holder_after_failure = lock_holder(redis_conn)
    finally:
        db_path.rmdir()
        for moved in aside.iterdir():
            shutil.move(moved, db_path.with_name(moved.name))

    log = process_log(worker, tail=200_000)
    assert [f"attempt {number})" in log for number in (1, 2, 3)] == [True, True, True]
    assert "unable to open database file" in Job.fetch(job.id, connection=redis_conn).latest_result().exc_string
    assert holder_after_failure is None
    assert read_runs(db_path) == []
    assert read_consumed(db_path) == before
    assert reseller_mismatches(db_path) == []

    recovered = SyncResellerUsageJob.dispatch(redis_conn, fault_config)
    assert wait_for(lambda: job_status(redis_conn, recovered.id) == JobStatus.FINISHED, 30), process_log(worker)
    assert [(run.job_id, run.status) for run in read_runs(db_path)] == [(recovered.id, "succeeded")]
    assert reseller_mismatches(db_path) == []
