"""SyncResellerUsageJob: one sync at a time, guarded by the unique lock.

RQ 2.12 facts this module relies on: `Retry(max=2)` gives 3 attempts under
one job id; `on_failure` runs in the work horse after every failed attempt,
before RQ decrements `retries_left`, so it sees 2, 1 and then 0 on the last
attempt; a job timeout is a failure and is retried; a work horse killed by a
signal is retried by the parent worker without calling `on_failure`.
"""

from __future__ import annotations

import logging
import signal
import threading
import uuid
from contextlib import contextmanager

import redis
from rq import Callback, Queue, Retry, get_current_job
from rq.job import Job

from models import SyncRun
from models.connections import job_connection
from models.database import ensure_database
from models.fields import utc_now
from usage.engine import UsageSync
from usage.summary import SyncSummary
from worker.config import JOB_RETRY_MAX, Config, get_config
from worker.errors import JobInterruptedError
from worker.logging_setup import configure_logging, log_context
from worker.redis_connection import get_redis
from worker.unique_lock import LockRenewer, UniqueLock

logger = logging.getLogger(__name__)

JOB_NAME = "SyncResellerUsageJob"
HANDLE_PATH = "jobs.sync_reseller_usage.SyncResellerUsageJob.handle"
ON_FAILURE_PATH = "jobs.sync_reseller_usage.on_failure"
RESULT_TTL_SECONDS = 7 * 24 * 3600
FAILURE_TTL_SECONDS = 7 * 24 * 3600


class SyncResellerUsageJob:
    """Reads every config's usage, totals it per reseller and enforces quotas."""

    @classmethod
    def dispatch(
        cls, connection: redis.Redis | None = None, config: Config | None = None, meta: dict | None = None
    ) -> Job | SyncSummary | None:
        """Take the lock and enqueue the job; None when a sync is already queued or running.

        With QUEUE_CONNECTION=sync the job runs inline and its summary is returned.
        """
        config = config or get_config()
        connection = connection or get_redis(config)
        lock = UniqueLock(connection, config.lock_ttl_seconds)
        job_id = f"sync-{uuid.uuid4().hex}"
        if not lock.acquire(job_id):
            state = lock.state()
            logger.info(
                "SyncResellerUsageJob is already queued or running (job %s, lock expires in %s s); dispatch skipped",
                state.holder,
                state.seconds_left,
            )
            return None
        if config.queue_connection == "sync":
            return run_inline(job_id, connection, config)
        try:
            return Queue(config.queue_name, connection=connection).enqueue_call(
                HANDLE_PATH,
                job_id=job_id,
                timeout=config.job_timeout_seconds,
                retry=Retry(max=JOB_RETRY_MAX, interval=list(config.retry_intervals_seconds)),
                on_failure=Callback(ON_FAILURE_PATH),
                description=JOB_NAME,
                result_ttl=RESULT_TTL_SECONDS,
                failure_ttl=FAILURE_TTL_SECONDS,
                meta={"job_class": JOB_NAME, **(meta or {})},
            )
        except Exception:
            # Nothing will run for this lock, so give it back now instead of in 300 s.
            lock.release(job_id)
            raise

    @staticmethod
    def handle() -> dict:
        """The RQ entry point, run in the work horse."""
        job = get_current_job()
        retries_left = job.retries_left if job.retries_left is not None else 0
        attempt = JOB_RETRY_MAX - retries_left + 1
        return execute(job.id, job.connection, get_config(), attempt=attempt, job=job)


def run_inline(job_id: str, connection: redis.Redis, config: Config) -> SyncSummary:
    """Run the sync in this process, as Laravel's sync queue does; the lock is released at the end."""
    lock = UniqueLock(connection, config.lock_ttl_seconds)
    try:
        result = execute(job_id, connection, config, attempt=1)
    finally:
        lock.release(job_id)
    return SyncSummary(**{k: v for k, v in result.items() if k in SyncSummary.__dataclass_fields__})


def execute(job_id: str, connection: redis.Redis, config: Config, attempt: int, job: Job | None = None) -> dict:
    """Run one attempt if `job_id` owns the lock; release the lock when it succeeds."""
    configure_logging(config.log_level, config.log_format)
    tick = job.meta.get("tick") if job is not None else None
    with log_context(job_id=job_id, tick=tick):
        return _execute_attempt(job_id, connection, config, attempt, job)


def _execute_attempt(job_id: str, connection: redis.Redis, config: Config, attempt: int, job: Job | None) -> dict:
    lock = UniqueLock(connection, config.lock_ttl_seconds)
    attempt_token = uuid.uuid4().hex
    if not lock.begin_attempt(job_id, attempt_token):
        state = lock.state()
        logger.warning(
            "Job %s does not own the sync lock (held by %s); exiting without syncing", job_id, state.holder
        )
        return {"skipped": True, "reason": "lock not owned", "lock_holder": state.holder}

    if job is not None:
        # RQ passes this same Job object to on_failure in the work horse.
        job.usage_sync_attempt = attempt_token
    ensure_database(config.database_url)
    logger.info("Starting reseller usage sync (job %s, attempt %d)", job_id, attempt)
    with job_connection(), LockRenewer(lock, job_id, attempt=attempt_token) as renewer, _sigterm_raises():
        run = SyncRun.create(job_id=job_id, attempt=attempt, status="running")
        try:
            engine = UsageSync(should_stop=renewer.lost.is_set, progress=_progress_reporter(job), job_id=job_id,
                               connection=connection)
            summary = engine.run()
        except BaseException as error:
            _finish_run(run, "failed", error=f"{type(error).__name__}: {error}")
            raise
        _finish_run(run, "succeeded", summary=summary)
    lock.release(job_id, attempt_token)
    logger.info("Reseller usage sync completed (job %s): %s", job_id, summary.describe())
    return summary.to_dict()


def _finish_run(run: SyncRun, status: str, summary: SyncSummary | None = None, error: str | None = None) -> None:
    finished = utc_now()
    run.status = status
    run.finished_at = finished
    run.duration_seconds = (finished - run.started_at).total_seconds()
    run.error = error
    if summary is not None:
        for field in ("resellers", "configs_synced", "configs_failed", "panels_failed", "pending_operations"):
            setattr(run, field, getattr(summary, field))
    try:
        run.save()
    except Exception as save_error:  # the database may be the reason the run failed
        logger.error("Could not record sync run %s as %s: %s", run.id, status, save_error)


def _progress_reporter(job: Job | None):
    if job is None:
        return None

    def report(done: int, total: int) -> None:
        job.meta["progress"] = {"resellers_done": done, "resellers_total": total}
        try:
            job.save_meta()
        except redis.RedisError as error:
            logger.debug("Could not save progress of job %s: %s", job.id, error)

    return report


@contextmanager
def _sigterm_raises():
    """Turn SIGTERM into JobInterruptedError so the attempt fails cleanly and the lock is released."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum, frame):
        raise JobInterruptedError("SIGTERM received while the sync was running")

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def on_failure(job: Job, connection: redis.Redis, exc_type, exc_value, traceback) -> None:
    """Release the lock after the last failed attempt (or a SIGTERM); keep it while retries remain."""
    config = get_config()
    final = not job.retries_left or isinstance(exc_value, JobInterruptedError)
    if not final:
        logger.warning(
            "SyncResellerUsageJob %s failed (%s: %s); %d retries left, the lock is kept",
            job.id,
            exc_type.__name__,
            exc_value,
            job.retries_left,
        )
        return
    # A newer attempt of the same job id that took the lock over is left alone.
    attempt_token = getattr(job, "usage_sync_attempt", None)
    released = UniqueLock(connection, config.lock_ttl_seconds).release(job.id, attempt_token)
    logger.error(
        "SyncResellerUsageJob %s failed for the last time (%s: %s); lock %s",
        job.id,
        exc_type.__name__,
        exc_value,
        "released" if released else "was no longer held by this job",
    )
