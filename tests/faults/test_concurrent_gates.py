"""Many gate runs for the same tick at once, and two schedulers, give exactly one dispatch per due tick."""

from __future__ import annotations

import multiprocessing
import subprocess
import sys
import threading
from datetime import datetime, timedelta, timezone

from rq import Queue
from rq.job import Job

from jobs.gate import DISPATCHED, TICK_ALREADY_HANDLED, evaluate_tick
from scheduler import GATE_CRON_ID, GATE_FUNC_PATH
from tests.conftest import PROJECT_ROOT
from tests.faults.support import FIRST_SYNTHETIC_TICK, sync_job_keys
from tests.workers import run_burst_worker
from worker.unique_lock import LOCK_KEY

GATE_RUNS = 50
TICKS = 5
SCHEDULED_JOBS_KEY = "rq:scheduler:scheduled_jobs"
# The scheduler test backdates its ticks by up to five minutes, so gates must accept them.
TICK_TTL_SECONDS = 900


def _gate_in_child(redis_url: str, config, tick, barrier, results) -> None:
    """One forked gate run with its own Redis connection; the fork hook drops the inherited database one."""
    import redis

    connection = redis.Redis.from_url(redis_url)
    barrier.wait(timeout=30)
    results.put(evaluate_tick(tick, connection, config, force=True).outcome)


def _outcomes_from_threads(private_redis, config, tick) -> list[str]:
    barrier = threading.Barrier(GATE_RUNS)
    outcomes: list[str] = []
    errors: list[BaseException] = []

    def run() -> None:
        connection = private_redis.client()
        try:
            barrier.wait(timeout=30)
            outcomes.append(evaluate_tick(tick, connection, config, force=True).outcome)
        except BaseException as error:  # noqa: BLE001 - reported by the assert below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(GATE_RUNS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    return outcomes


def _outcomes_from_processes(private_redis, config, tick) -> list[str]:
    context = multiprocessing.get_context("fork")
    barrier = context.Barrier(GATE_RUNS)
    results = context.Queue()
    children = [context.Process(target=_gate_in_child, args=(private_redis.url, config, tick, barrier, results))
                for _ in range(GATE_RUNS)]
    for child in children:
        child.start()
    try:
        outcomes = [results.get(timeout=60) for _ in children]
    finally:
        for child in children:
            child.join(10)
            if child.is_alive():
                child.kill()
    return outcomes


def test_fifty_gates_one_dispatch(private_redis, redis_conn, fault_config, every_minute):
    tallies = []
    for index in range(TICKS):
        tick = FIRST_SYNTHETIC_TICK + timedelta(minutes=index)
        run_gates = _outcomes_from_processes if index % 2 else _outcomes_from_threads
        outcomes = run_gates(private_redis, fault_config, tick)
        tallies.append((run_gates.__name__, outcomes.count(DISPATCHED), outcomes.count(TICK_ALREADY_HANDLED)))
        # Free the lock as a finished sync would, so the next tick is due and dispatches too.
        redis_conn.delete(LOCK_KEY)

    assert tallies == [(name, 1, GATE_RUNS - 1) for name, _, _ in tallies]
    assert len(sync_job_keys(redis_conn)) == TICKS
    assert Queue("default", connection=redis_conn).count == TICKS
    print(f"\n(runner, dispatched, tick already handled) per tick: {tallies}")


def _scheduler_burst(env: dict) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "scheduler.py", "--burst", "--poll-seconds", "1"], cwd=PROJECT_ROOT,
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def _new_gate_outcomes(connection, seen: set[str]) -> list[tuple[str, str]]:
    """Return (tick, outcome) of the gate jobs that finished since the last call."""
    registry = Queue("default", connection=connection).finished_job_registry
    outcomes = []
    for job_id in registry.get_job_ids():
        if job_id in seen:
            continue
        seen.add(job_id)
        job = Job.fetch(job_id, connection=connection)
        if job.func_name == GATE_FUNC_PATH:
            outcomes.append((job.return_value()["tick"], job.return_value()["outcome"]))
    return outcomes


def test_two_schedulers_five_ticks(redis_conn, fault_env, fault_db, every_minute):
    env = {**fault_env, "USAGE_SYNC_TICK_TTL_SECONDS": str(TICK_TTL_SECONDS)}
    registration = _scheduler_burst(env)
    assert registration.wait(30) == 0, registration.stdout.read()
    this_minute = datetime.now(timezone.utc).replace(second=0, microsecond=0)
    ticks = [this_minute - timedelta(minutes=TICKS - index) for index in range(TICKS)]
    seen: set[str] = set()
    per_tick = []
    for tick in ticks:
        redis_conn.zadd(SCHEDULED_JOBS_KEY, {GATE_CRON_ID: tick.timestamp()})
        first, second = _scheduler_burst(env), _scheduler_burst(env)
        assert first.wait(30) == 0, first.stdout.read()
        assert second.wait(30) == 0, second.stdout.read()
        gates = Queue("default", connection=redis_conn).count
        # The burst runs the gates and then the sync they dispatched, which releases the lock.
        burst = run_burst_worker(env)
        assert burst.returncode == 0, burst.stderr
        per_tick.append((tick, gates, _new_gate_outcomes(redis_conn, seen)))

    # A real minute that passes during a round makes the schedulers enqueue its gate as well, and
    # whichever of that round's gates runs first dispatches. So each round dispatches exactly once.
    dispatches_per_round = [[outcome for _, outcome in outcomes].count(DISPATCHED) for _, _, outcomes in per_tick]
    dispatched_ticks = [tick for _, _, outcomes in per_tick for tick, outcome in outcomes if outcome == DISPATCHED]
    assert dispatches_per_round == [1] * TICKS, per_tick
    assert len(set(dispatched_ticks)) == TICKS
    assert len(sync_job_keys(redis_conn)) == TICKS
    print(f"\ngates enqueued per tick by two schedulers: {[gates for _, gates, _ in per_tick]}; "
          f"dispatches: {len(dispatched_ticks)}")
