"""The scheduler process: one cron entry across restarts, one gate run per tick across schedulers."""

from __future__ import annotations

import subprocess
import sys
from datetime import datetime, timezone

from rq import Queue
from rq.job import Job

from scheduler import GATE_CRON_ID, GATE_FUNC_PATH
from tests.conftest import PROJECT_ROOT
from tests.workers import run_burst_worker
from worker.settings_store import INTERVAL_KEY, OVERRIDE_HASH_KEY

SCHEDULED_JOBS_KEY = "rq:scheduler:scheduled_jobs"


def run_scheduler_burst(env: dict) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "scheduler.py", "--burst", "--poll-seconds", "1"], cwd=PROJECT_ROOT,
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def test_scheduler_restarts_leave_one_entry(real_redis, subprocess_env):
    for _ in range(3):
        process = run_scheduler_burst(subprocess_env)
        assert process.wait(30) == 0, process.stdout.read()

    entries = [member.decode() for member in real_redis.zrange(SCHEDULED_JOBS_KEY, 0, -1)]
    assert entries == [GATE_CRON_ID]
    assert real_redis.ttl(f"rq:job:{GATE_CRON_ID}") == -1


def test_scheduler_enqueues_gate_with_tick_argument(real_redis, subprocess_env):
    process = run_scheduler_burst(subprocess_env)
    process.wait(30)
    tick = datetime.now(timezone.utc).replace(second=0, microsecond=0)
    real_redis.zadd(SCHEDULED_JOBS_KEY, {GATE_CRON_ID: tick.timestamp()})

    process = run_scheduler_burst(subprocess_env)
    process.wait(30)

    jobs = [Job.fetch(job_id, connection=real_redis) for job_id in Queue("default", connection=real_redis).job_ids]
    assert [job.func_name for job in jobs] == [GATE_FUNC_PATH]
    assert jobs[0].args == (tick.strftime("%Y-%m-%dT%H:%MZ"),)
    assert 0 < jobs[0].ttl <= 90
    assert real_redis.zscore(SCHEDULED_JOBS_KEY, GATE_CRON_ID) > tick.timestamp()


def test_two_schedulers_give_one_dispatch_per_tick(db, real_redis, subprocess_env):
    real_redis.hset(OVERRIDE_HASH_KEY, INTERVAL_KEY, "1")
    run_scheduler_burst(subprocess_env).wait(30)
    dispatched_ticks = []
    for _ in range(3):
        tick = datetime.now(timezone.utc).replace(second=0, microsecond=0)
        real_redis.zadd(SCHEDULED_JOBS_KEY, {GATE_CRON_ID: tick.timestamp()})
        # rq-scheduler's lock is released without an owner check, so both may enqueue a gate.
        first, second = run_scheduler_burst(subprocess_env), run_scheduler_burst(subprocess_env)
        first.wait(30)
        second.wait(30)
        gates = Queue("default", connection=real_redis).count
        run_burst_worker(subprocess_env)
        dispatched_ticks.append((tick, gates))
        real_redis.delete(f"usage-sync:tick:{tick:%Y%m%d%H%M}")

    sync_runs = real_redis.zcard("rq:finished:default")
    gate_results = [Job.fetch(job_id.decode(), connection=real_redis).return_value()
                    for job_id in real_redis.zrange("rq:finished:default", 0, -1)]
    outcomes = [result["outcome"] for result in gate_results if result and "outcome" in result]
    assert outcomes.count("dispatched") == 3, (outcomes, dispatched_ticks, sync_runs)
