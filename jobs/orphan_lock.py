"""Recovery of a sync lock whose job can never run.

RQ 2.12: an idle worker that has just received SIGTERM can pop one job from
its queue and exit without running it or putting it back, so the job stays
`queued` in no queue. For the sync that would also leave the lock held by a
job that will never run until the lock lapses. The gate calls this when a
dispatch is skipped: a lock older than a grace period whose job is in no
queue, no registry, or has already ended, is released.
"""

from __future__ import annotations

import logging
import time

import redis
from rq import Queue
from rq.exceptions import NoSuchJobError
from rq.job import Job, JobStatus

from worker.config import Config
from worker.unique_lock import UniqueLock

logger = logging.getLogger(__name__)

ENDED_STATUSES = (JobStatus.FINISHED, JobStatus.FAILED, JobStatus.CANCELED, JobStatus.STOPPED)


def find_orphan_reason(connection: redis.Redis, config: Config, holder: str) -> str | None:
    """Return why the lock holder `holder` can never run, or None if it may still run."""
    try:
        job = Job.fetch(holder, connection=connection)
    except NoSuchJobError:
        return "its job no longer exists"
    status = job.get_status(refresh=True)
    if status in ENDED_STATUSES:
        return f"its job has already ended ({status.value})"
    if status != JobStatus.QUEUED:
        # started, scheduled (a retry waiting) and deferred jobs are in a registry and will run.
        return None
    # A job sits in RQ's intermediate list only for the instant between a
    # worker's pop and its start, so after the grace period it counts as lost.
    queue = Queue(job.origin, connection=connection)
    if queue.get_job_position(holder) is not None:
        return None
    return "its job is queued but in no queue"


def recover_orphaned_lock(connection: redis.Redis, config: Config, now: float | None = None) -> bool:
    """Release the lock if its job can never run; True when released."""
    lock = UniqueLock(connection, config.lock_ttl_seconds)
    state = lock.state()
    if state.holder is None:
        return False
    age = (now or time.time()) - (state.taken_at or time.time())
    if age < config.orphan_lock_grace_seconds:
        return False
    reason = find_orphan_reason(connection, config, state.holder)
    if reason is None:
        return False
    released = lock.release(state.holder)
    if released:
        logger.warning("Released the sync lock held by job %s because %s", state.holder, reason)
    return released
