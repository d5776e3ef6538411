"""Redis restarted, without persistence, in the middle of a sync.

The worker, the scheduler and this test all point at a private
redis-server, which is stopped and started again on the same port while a
sync reads its panels. Every key is lost: the lock, the queue, the job, the
scheduler's cron entry and the interval override. The interval is therefore
kept in the `settings` table, as a deployment would keep it.
"""

from __future__ import annotations

import sys
import time
from datetime import datetime, timezone

from models import Setting, database_proxy
from scheduler import GATE_CRON_ID
from tests.faults.support import (Sampler, TickDriver, job_status, lock_holder, process_log, read_runs,
                                  wait_for_idle_worker)
from tests.workers import wait_for
from worker.settings_store import INTERVAL_KEY

PANEL_LATENCY_SECONDS = 1.5
SCHEDULED_JOBS_KEY = "rq:scheduler:scheduled_jobs"
RECOVERY_TIMEOUT_SECONDS = 30


def test_redis_restart_mid_sync(private_redis, redis_conn, fault_config, fault_env, db_path, processes, fleet):
    with database_proxy.connection_context():
        Setting.set_value(INTERVAL_KEY, "1")
    fleet.set_latency(PANEL_LATENCY_SECONDS)
    scheduler = processes.start([sys.executable, "scheduler.py", "--poll-seconds", "1"], fault_env, "scheduler")
    worker = processes.start_worker(fault_env, "--with-scheduler")
    wait_for_idle_worker(redis_conn, worker)
    assert wait_for(lambda: redis_conn.zscore(SCHEDULED_JOBS_KEY, GATE_CRON_ID) is not None, 20), \
        process_log(scheduler)
    interrupted = TickDriver(redis_conn, fault_config, period_seconds=1).tick_once().job_id
    assert wait_for(lambda: any(run.job_id == interrupted for run in read_runs(db_path)), 20), process_log(worker)

    sampler = Sampler(redis_conn, every_seconds=0.02).start()
    try:
        restarted_at = time.monotonic()
        private_redis.restart()
        downtime = time.monotonic() - restarted_at
        # The interrupted attempt ends by itself: its renewal finds the lock gone and the run stops.
        assert wait_for(lambda: read_runs(db_path)[-1].status != "running", RECOVERY_TIMEOUT_SECONDS), \
            process_log(worker)
        # The scheduler notices that its cron entry is gone and registers it again.
        assert wait_for(lambda: redis_conn.zscore(SCHEDULED_JOBS_KEY, GATE_CRON_ID) is not None,
                        RECOVERY_TIMEOUT_SECONDS), process_log(scheduler)
        # Make the entry due now rather than waiting for the next minute.
        this_minute = datetime.now(timezone.utc).replace(second=0, microsecond=0)
        redis_conn.zadd(SCHEDULED_JOBS_KEY, {GATE_CRON_ID: this_minute.timestamp()})
        assert wait_for(lambda: any(run.status == "succeeded" and run.job_id != interrupted
                                    for run in read_runs(db_path)),
                        RECOVERY_TIMEOUT_SECONDS), process_log(worker) + process_log(scheduler)
    finally:
        sampler.stop()

    runs = read_runs(db_path)
    interrupted_runs = [run for run in runs if run.job_id == interrupted]
    # A real minute that passes meanwhile may add a sync of its own, so at least one is expected.
    resumed = [run for run in runs if run.status == "succeeded" and run.job_id != interrupted]
    assert worker.poll() is None, process_log(worker)
    assert scheduler.poll() is None, process_log(scheduler)
    assert interrupted_runs[0].status in ("failed", "succeeded")
    assert len(resumed) >= 1
    assert all(sample.ttl != -1 for sample in sampler.samples), "the lock was seen without a TTL"
    assert wait_for(lambda: lock_holder(redis_conn) is None, 10)
    assert job_status(redis_conn, resumed[0].job_id) is not None
    print(f"\nredis down {downtime:.2f}s; interrupted attempt: {interrupted_runs[0].status} "
          f"({interrupted_runs[0].error}); next sync {resumed[0].job_id} succeeded")
