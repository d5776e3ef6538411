"""SIGKILL of the work horse at seeded random points of a sync, 20 times, against a real worker.

The sync is slowed by panel latency so that a kill lands mid-run: before
the `sync_runs` row, during the panel reads or during the writes. Kills come
in bursts of 1 to 3 on the same job. A burst of 1 or 2 leaves the job a
retry that still owns the lock. A burst of 3 uses up every attempt, so the
lock has to lapse before the next tick can dispatch.
"""

from __future__ import annotations

import os
import random
import signal
import time
from dataclasses import dataclass
from datetime import datetime, timezone

from rq.job import JobStatus

from tests.faults.conftest import LOCK_TTL_SECONDS
from tests.faults.support import (Sampler, TickDriver, horse_pid, job_status, lock_holder, overlapping_runs,
                                  process_log, read_runs, reseller_mismatches, wait_for_idle_worker)
from tests.workers import wait_for

KILLS = 20
SEED = 20261204
TICK_SECONDS = 1.5
PANEL_LATENCY_SECONDS = 0.3
# A tick dispatches at most one interval after the lock lapses, and the sync starts within another.
RECOVERY_BOUND_SECONDS = LOCK_TTL_SECONDS + 2 * TICK_SECONDS


@dataclass(frozen=True)
class Kill:
    at: datetime
    job_id: str
    offset_seconds: float


def _wait_for_running_job(connection, worker, timeout: float = 20) -> tuple[str, int, float]:
    """Wait for a job in the started state with a live horse; return its id, the horse and when it was seen."""
    found: dict = {}

    def running() -> bool:
        holder = lock_holder(connection)
        horse = horse_pid(worker.pid)
        if holder is None or horse is None or job_status(connection, holder) != JobStatus.STARTED:
            return False
        found.update(job_id=holder, horse=horse, seen=time.monotonic())
        return True

    assert wait_for(running, timeout, interval=0.01), process_log(worker)
    return found["job_id"], found["horse"], found["seen"]


def _kill_mid_run(connection, worker, rng: random.Random, sync_seconds: float, target: str | None) -> Kill | None:
    """Kill the horse at a random point of its run.

    Returns None when the run ended before the chosen point, or when `target`
    is given and the running job is another one (the target succeeded).
    """
    job_id, horse, seen = _wait_for_running_job(connection, worker)
    if target is not None and job_id != target:
        return None
    offset = rng.uniform(0, 0.9 * sync_seconds)
    time.sleep(max(0.0, seen + offset - time.monotonic()))  # the injection point itself, not a wait
    if horse_pid(worker.pid) != horse:
        return None
    try:
        os.kill(horse, signal.SIGKILL)
    except ProcessLookupError:
        return None
    return Kill(datetime.now(timezone.utc), job_id, offset)


def _first_success_after(db_path, moment: datetime):
    for run in read_runs(db_path):
        if run.status == "succeeded" and run.started_at > moment:
            return run
    return None


def test_horse_sigkill_twenty_times(redis_conn, fault_config, fault_env, db_path, processes, fleet, every_minute):
    rng = random.Random(SEED)
    fleet.set_latency(PANEL_LATENCY_SECONDS)
    worker = processes.start_worker(fault_env, "--without-scheduler")
    wait_for_idle_worker(redis_conn, worker)
    sampler = Sampler(redis_conn, db_path).start()
    ticks = TickDriver(redis_conn, fault_config, TICK_SECONDS).start()
    kills: list[Kill] = []
    recoveries: list[float] = []
    bursts: list[int] = []
    try:
        # A first sync, undisturbed, gives the run time that the kill points are drawn from.
        assert wait_for(lambda: any(run.status == "succeeded" for run in read_runs(db_path)), 30), \
            process_log(worker)
        first = next(run for run in read_runs(db_path) if run.status == "succeeded")
        # The horse forks and imports the job before its row exists; 0.3 s covers that on 2 cores.
        sync_seconds = (first.finished_at - first.started_at).total_seconds() + 0.3

        while len(kills) < KILLS:
            burst = min(rng.randint(1, 3), KILLS - len(kills))
            landed: list[Kill] = []
            while len(landed) < burst:
                target = landed[-1].job_id if landed else None
                kill = _kill_mid_run(redis_conn, worker, rng, sync_seconds, target)
                if kill is None and target is not None:
                    break  # an attempt of the target outran its kill point and succeeded
                if kill is not None:
                    landed.append(kill)
            kills.extend(landed)
            last = kills[-1].at
            assert wait_for(lambda: _first_success_after(db_path, last) is not None, 30), process_log(worker)
            recoveries.append((_first_success_after(db_path, last).started_at - last).total_seconds())
            bursts.append(len(landed))
    finally:
        ticks.stop()
        sampler.stop()

    runs = read_runs(db_path)
    kill_ends = {}
    for run in runs:
        if run.finished_at is None:
            later_kills = [kill.at for kill in kills if kill.at >= run.started_at]
            if later_kills:
                kill_ends[(run.job_id, run.attempt)] = min(later_kills)

    assert ticks.errors == []
    assert sampler.errors == []
    assert len(kills) == KILLS
    assert overlapping_runs(runs, kill_ends) == []
    assert max(len(sample.started) for sample in sampler.samples) == 1
    assert all(sample.ttl != -1 for sample in sampler.samples), "the lock was seen without a TTL"
    assert sampler.decreases() == []
    assert max(recoveries) <= RECOVERY_BOUND_SECONDS, recoveries
    assert reseller_mismatches(db_path) == []
    for run in (run for run in runs if run.status == "succeeded"):
        inside = [sample.holder for sample in sampler.samples
                  if run.started_at.timestamp() + 0.1 < sample.at < run.finished_at.timestamp() - 0.1]
        assert set(inside) <= {run.job_id}, f"run {run.job_id} did not hold the lock throughout: {set(inside)}"
    print(f"\nrun time {sync_seconds:.2f}s; bursts={bursts} "
          f"kills={len(kills)} runs={len(runs)} succeeded={sum(r.status == 'succeeded' for r in runs)} "
          f"recoveries={[round(value, 2) for value in recoveries]} max={max(recoveries):.2f}s "
          f"offsets={[round(kill.offset_seconds, 2) for kill in kills]}")
