"""SyncResellerUsageJob: dispatch through the lock, and real workers running it."""

from __future__ import annotations

import logging
from datetime import datetime, timezone
import signal
import sqlite3

import pytest
from rq import Queue
from rq.job import Job, JobStatus
from rq.registry import ScheduledJobRegistry

from jobs.gate import evaluate_tick
from jobs.sync_reseller_usage import HANDLE_PATH, SyncResellerUsageJob, on_failure
from models import Reseller, SyncRun, database_proxy
from tests.factories import GIB, make_config, make_panel, make_reseller
from tests.workers import kill_process_tree, run_burst_worker, start_worker, wait_for
from worker.config import Config
from worker.errors import JobInterruptedError
from worker.settings_store import INTERVAL_KEY, OVERRIDE_HASH_KEY
from worker.unique_lock import LOCK_KEY, UniqueLock


@pytest.fixture
def seeded(db):
    panel = make_panel()
    reseller = make_reseller(admin_forgiven_bytes=1 * GIB)
    make_config(reseller, panel, "user-a", usage_bytes=2 * GIB, settled_usage_bytes=1 * GIB)
    make_config(reseller, panel, "user-b", usage_bytes=1 * GIB, status="disabled")
    database_proxy.close()
    return reseller


def test_dispatch_takes_lock_and_enqueues(db, real_redis, config):
    job = SyncResellerUsageJob.dispatch(real_redis, config)

    assert real_redis.get(LOCK_KEY).decode() == job.id
    assert 295 <= real_redis.ttl(LOCK_KEY) <= 300
    assert job.timeout == 600
    assert job.retries_left == 2
    assert job.description == "SyncResellerUsageJob"
    assert job.func_name == HANDLE_PATH


def test_second_dispatch_is_skipped(db, real_redis, config, caplog):
    first = SyncResellerUsageJob.dispatch(real_redis, config)

    with caplog.at_level(logging.INFO):
        second = SyncResellerUsageJob.dispatch(real_redis, config)

    assert second is None
    assert first.id in caplog.text
    assert "already queued or running" in caplog.text
    assert Queue("default", connection=real_redis).count == 1


def test_enqueue_failure_releases_lock(db, real_redis, config, monkeypatch):
    def broken_enqueue(*args, **kwargs):
        raise ConnectionError("queue unavailable")

    monkeypatch.setattr(Queue, "enqueue_call", broken_enqueue)

    with pytest.raises(ConnectionError):
        SyncResellerUsageJob.dispatch(real_redis, config)

    assert not real_redis.exists(LOCK_KEY)


def test_sync_queue_connection_runs_inline(seeded, real_redis, config):
    inline_config = Config(**{**config.__dict__, "queue_connection": "sync"})

    summary = SyncResellerUsageJob.dispatch(real_redis, inline_config)

    assert summary.resellers == 1
    assert not real_redis.exists(LOCK_KEY)
    assert Queue("default", connection=real_redis).count == 0


def test_worker_runs_job_and_releases_lock(seeded, real_redis, config, subprocess_env):
    job = SyncResellerUsageJob.dispatch(real_redis, config)

    run_burst_worker(subprocess_env)

    job = Job.fetch(job.id, connection=real_redis)
    assert job.get_status() == JobStatus.FINISHED
    assert job.return_value()["resellers"] == 1
    assert not real_redis.exists(LOCK_KEY)
    with database_proxy.connection_context():
        # 2 + 1 + 1 GiB consumed (disabled configs count too) minus 1 GiB forgiven.
        assert Reseller.get_by_id(seeded.id).traffic_used_bytes == 3 * GIB
        assert [run.status for run in SyncRun.select()] == ["succeeded"]


def test_failed_attempts_keep_lock_until_last(seeded, real_redis, config, subprocess_env):
    with database_proxy.connection_context():
        database_proxy.execute_sql("DROP TABLE reseller_configs")
    slow_retry_config = Config(**{**config.__dict__, "retry_intervals_seconds": (3600, 3600)})
    job = SyncResellerUsageJob.dispatch(real_redis, slow_retry_config)
    queue = Queue("default", connection=real_redis)
    registry = ScheduledJobRegistry(queue=queue)

    for attempt in (1, 2):
        run_burst_worker(subprocess_env)
        assert job.id in registry.get_job_ids(), f"attempt {attempt} was not scheduled for retry"
        assert real_redis.get(LOCK_KEY).decode() == job.id, f"lock released after attempt {attempt}"
        registry.remove(job.id)
        queue.enqueue_job(Job.fetch(job.id, connection=real_redis))

    run_burst_worker(subprocess_env)

    assert Job.fetch(job.id, connection=real_redis).get_status() == JobStatus.FAILED
    assert not real_redis.exists(LOCK_KEY)
    with database_proxy.connection_context():
        assert [run.status for run in SyncRun.select()] == ["failed", "failed", "failed"]


def test_job_without_lock_does_not_sync(seeded, real_redis, config, subprocess_env):
    UniqueLock(real_redis).acquire("the-real-owner")
    stale = Queue("default", connection=real_redis).enqueue_call(HANDLE_PATH, job_id="stale-retry")

    run_burst_worker(subprocess_env)

    result = Job.fetch(stale.id, connection=real_redis).return_value()
    assert result["skipped"] is True
    assert real_redis.get(LOCK_KEY) == b"the-real-owner"
    with database_proxy.connection_context():
        assert SyncRun.select().count() == 0


class FakeJob:
    def __init__(self, job_id: str, retries_left: int | None):
        self.id = job_id
        self.retries_left = retries_left


@pytest.mark.parametrize(("retries_left", "released"), [(2, False), (1, False), (0, True), (None, True)])
def test_on_failure_releases_only_on_last_attempt(real_redis, config, retries_left, released):
    UniqueLock(real_redis).acquire("job-x")

    on_failure(FakeJob("job-x", retries_left), real_redis, RuntimeError, RuntimeError("boom"), None)

    assert real_redis.exists(LOCK_KEY) == (0 if released else 1)


def test_on_failure_releases_after_sigterm_interrupt(real_redis, config):
    UniqueLock(real_redis).acquire("job-x")

    on_failure(FakeJob("job-x", 2), real_redis, JobInterruptedError, JobInterruptedError("SIGTERM"), None)

    assert not real_redis.exists(LOCK_KEY)


def test_on_failure_never_deletes_foreign_lock(real_redis, config):
    UniqueLock(real_redis).acquire("another-job")

    on_failure(FakeJob("job-x", 0), real_redis, RuntimeError, RuntimeError("boom"), None)

    assert real_redis.get(LOCK_KEY) == b"another-job"


# SQLite only: the test is about the Redis lock lapsing, and it holds the job mid-run with a
# SQLite exclusive transaction. The other worker tests here run on every backend.
@pytest.mark.backends("sqlite")
def test_sigkilled_worker_lock_lapses_and_next_tick_runs(seeded, real_redis, config, subprocess_env, database_url):
    short_lock = Config(**{**config.__dict__, "lock_ttl_seconds": 3})
    env = {**subprocess_env, "USAGE_SYNC_LOCK_TTL_SECONDS": "3"}
    # An exclusive SQLite transaction makes the job block in its first write, so it is mid-run when killed.
    blocker = sqlite3.connect(database_url.removeprefix("sqlite:///"), timeout=1)
    blocker.execute("BEGIN EXCLUSIVE")
    job = SyncResellerUsageJob.dispatch(real_redis, short_lock)
    worker = start_worker(env, "--without-scheduler")
    try:
        assert wait_for(lambda: Job.fetch(job.id, connection=real_redis).get_status() == JobStatus.STARTED, 30)
    finally:
        kill_process_tree(worker.pid, signal.SIGKILL)
        worker.wait(10)
        blocker.rollback()
        blocker.close()

    assert real_redis.get(LOCK_KEY).decode() == job.id
    assert wait_for(lambda: not real_redis.exists(LOCK_KEY), 10)
    real_redis.hset(OVERRIDE_HASH_KEY, INTERVAL_KEY, "1")
    outcome = evaluate_tick(datetime.now(timezone.utc), real_redis, short_lock)
    assert outcome.outcome == "dispatched"
    run_burst_worker(env)
    assert Job.fetch(outcome.job_id, connection=real_redis).get_status() == JobStatus.FINISHED


def test_on_failure_spares_newer_attempt(real_redis, config):
    lock = UniqueLock(real_redis)
    lock.acquire("job-x")
    lock.begin_attempt("job-x", "older")
    lock.begin_attempt("job-x", "newer")
    stale = FakeJob("job-x", 0)
    stale.usage_sync_attempt = "older"

    on_failure(stale, real_redis, RuntimeError, RuntimeError("boom"), None)

    assert real_redis.get(LOCK_KEY) == b"job-x"
