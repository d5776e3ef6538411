"""A sync that runs longer than the lock window keeps its lock, and no second sync starts meanwhile."""

from __future__ import annotations

import time
from dataclasses import replace
from datetime import datetime, timezone

from rq.job import JobStatus

from jobs.gate import ALREADY_QUEUED
from jobs.sync_reseller_usage import SyncResellerUsageJob
from tests.faults.support import (Sampler, TickDriver, job_status, process_log, read_runs, sync_job_keys,
                                  wait_for_idle_worker)
from tests.workers import wait_for
from worker.unique_lock import LOCK_KEY

LOCK_TTL_SECONDS = 2
# Two requests a panel (login, then the read), each delayed this long, make a run of about 5 s.
PANEL_LATENCY_SECONDS = 2.5
DISPATCH_EVERY_SECONDS = 0.5
ATTEMPT_SECONDS = 2.5 * LOCK_TTL_SECONDS


def test_long_sync_keeps_lock(redis_conn, fault_config, fault_env, db_path, processes, fleet, every_minute):
    config = replace(fault_config, lock_ttl_seconds=LOCK_TTL_SECONDS)
    env = {**fault_env, "USAGE_SYNC_LOCK_TTL_SECONDS": str(LOCK_TTL_SECONDS)}
    fleet.set_latency(PANEL_LATENCY_SECONDS)
    worker = processes.start_worker(env, "--without-scheduler")
    wait_for_idle_worker(redis_conn, worker)
    ticks = TickDriver(redis_conn, config, DISPATCH_EVERY_SECONDS)
    first = ticks.tick_once()
    assert first.outcome == "dispatched"
    assert wait_for(lambda: job_status(redis_conn, first.job_id) == JobStatus.STARTED, 20), process_log(worker)

    sampler = Sampler(redis_conn).start()
    gate_outcomes = []
    direct_dispatches = []
    try:
        # Attempts go on for more than two lock windows, all within the run (about 7 s).
        attempts_until = time.monotonic() + ATTEMPT_SECONDS
        while time.monotonic() < attempts_until:
            gate_outcomes.append(ticks.tick_once().outcome)
            direct_dispatches.append(SyncResellerUsageJob.dispatch(redis_conn, config))
            time.sleep(DISPATCH_EVERY_SECONDS)  # the spacing of the attempts, not a wait for a condition
        last_attempt_at = datetime.now(timezone.utc)
        assert wait_for(lambda: job_status(redis_conn, first.job_id) == JobStatus.FINISHED, 30), process_log(worker)
    finally:
        sampler.stop()

    runs = read_runs(db_path)
    during_run = [sample for sample in sampler.samples if sample.holder is not None]
    duration = (runs[0].finished_at - runs[0].started_at).total_seconds()
    assert len(runs) == 1
    assert runs[0].status == "succeeded"
    assert runs[0].finished_at > last_attempt_at
    assert duration > 2 * LOCK_TTL_SECONDS
    assert len(gate_outcomes) >= 4
    assert set(gate_outcomes) == {ALREADY_QUEUED}
    assert direct_dispatches == [None] * len(direct_dispatches)
    assert {sample.holder for sample in during_run} == {first.job_id}
    assert min(sample.ttl for sample in during_run) > 0
    assert sync_job_keys(redis_conn) == [f"rq:job:{first.job_id}"]
    assert not redis_conn.exists(LOCK_KEY)
    print(f"\nrun {duration:.1f}s with a {LOCK_TTL_SECONDS}s lock; {len(gate_outcomes)} gate runs and "
          f"{len(direct_dispatches)} dispatches skipped; lowest TTL seen {min(s.ttl for s in during_run)}s")
