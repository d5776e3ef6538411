"""The scheduler process: one rq-scheduler cron entry, every minute, that enqueues the gate.

rq-scheduler 0.14 re-enqueues the cron entry's own job id every tick, so its
`meta` is shared between ticks, `enqueued_at` is overwritten, and the cron
time is recorded nowhere. `UsageSyncScheduler.enqueue_job` therefore leaves
the entry in place and enqueues a fresh gate job per tick that carries the
tick time as its argument, with a short `ttl` so a tick that no worker ran in time
is dropped. The entry itself gets no `ttl` or finite `result_ttl`: either
would make it vanish once its job hash expired.
"""

from __future__ import annotations

import logging
import sys
import warnings
from datetime import datetime, timezone

import click
from rq.job import Job
from rq_scheduler import Scheduler
from rq_scheduler.utils import get_next_scheduled_time

from worker.config import TICK_TTL_SECONDS, get_config, use_utc
from worker.logging_setup import configure_logging
from worker.redis_connection import get_redis
from worker.process_command import ProcessCommand

logger = logging.getLogger("scheduler")

# crontab warns that a future release will read times as UTC; this process runs
# with TZ=UTC, so the old and new behaviour give the same times.
warnings.filterwarnings("ignore", category=FutureWarning, module="rq_scheduler.utils")

GATE_CRON_ID = "usage-sync-gate-cron"
GATE_CRON_STRING = "* * * * *"
GATE_FUNC_PATH = "jobs.gate.run_gate"
GATE_RESULT_TTL_SECONDS = 3600


class UsageSyncScheduler(Scheduler):
    def enqueue_jobs(self):
        # A Redis restart without persistence (or a flush) drops the cron entry, and rq-scheduler
        # 0.14 would then poll an empty schedule forever. Registering it again on the next poll
        # makes the schedule resume by itself.
        if self.connection.zscore(self.scheduled_jobs_key, GATE_CRON_ID) is None:
            logger.warning("Gate entry %s is missing from Redis (restarted or flushed?); registering it again",
                           GATE_CRON_ID)
            register_gate(self, self.queue_name)
        return super().enqueue_jobs()

    def enqueue_job(self, job: Job) -> None:
        if job.id != GATE_CRON_ID:
            super().enqueue_job(job)
            return
        score = self.connection.zscore(self.scheduled_jobs_key, job.id)
        tick = datetime.fromtimestamp(score or datetime.now(timezone.utc).timestamp(), timezone.utc)
        enqueue_gate(self.get_queue_for_job(job), tick, self.tick_ttl_seconds)
        next_time = get_next_scheduled_time(GATE_CRON_STRING)
        self.connection.zadd(self.scheduled_jobs_key, {job.id: next_time.timestamp()})

    tick_ttl_seconds = TICK_TTL_SECONDS


def enqueue_gate(queue, tick: datetime, ttl_seconds: int) -> Job:
    """Enqueue one gate job for `tick`; it expires unrun after `ttl_seconds`."""
    label = tick.replace(second=0, microsecond=0).strftime("%Y-%m-%dT%H:%MZ")
    return queue.enqueue_call(
        GATE_FUNC_PATH,
        args=(label,),
        ttl=ttl_seconds,
        result_ttl=GATE_RESULT_TTL_SECONDS,
        description=f"Usage sync gate for tick {label}",
        meta={"tick": label},
    )


def register_gate(scheduler: Scheduler, queue_name: str) -> Job:
    """Create or replace the gate's cron entry; the fixed id makes repeated calls leave one entry."""
    for existing in scheduler.get_jobs():
        if existing.func_name == GATE_FUNC_PATH and existing.id != GATE_CRON_ID:
            scheduler.cancel(existing)
    pending_score = scheduler.connection.zscore(scheduler.scheduled_jobs_key, GATE_CRON_ID)
    entry = scheduler.cron(
        GATE_CRON_STRING,
        func=GATE_FUNC_PATH,
        args=("cron-template",),
        id=GATE_CRON_ID,
        queue_name=queue_name,
        description="Usage sync gate (every minute)",
    )
    if pending_score is not None:
        # cron() moves the entry to the next minute; keep a tick that was already due
        # so a restart at the top of a minute does not skip it.
        scheduler.connection.zadd(scheduler.scheduled_jobs_key, {GATE_CRON_ID: pending_score})
    return entry


def build_scheduler(poll_seconds: int | None = None) -> UsageSyncScheduler:
    config = get_config()
    scheduler = UsageSyncScheduler(
        queue_name=config.queue_name,
        connection=get_redis(config),
        interval=poll_seconds or config.scheduler_poll_seconds,
    )
    scheduler.tick_ttl_seconds = config.tick_ttl_seconds
    return scheduler


@click.command(cls=ProcessCommand)
@click.option("--burst", is_flag=True, help="Enqueue what is due once and exit.")
@click.option("--poll-seconds", type=click.IntRange(min=1), default=None,
              help="Seconds between polls (default: SCHEDULER_POLL_SECONDS or 5).")
def main(burst: bool, poll_seconds: int | None) -> None:
    """Run the scheduler that enqueues the usage sync gate every minute (UTC)."""
    use_utc()
    config = get_config()
    configure_logging(config.log_level, config.log_format)
    scheduler = build_scheduler(poll_seconds)
    register_gate(scheduler, config.queue_name)
    logger.info("Scheduler started: gate entry %s every minute, polling every %d s",
                GATE_CRON_ID, scheduler._interval)
    scheduler.run(burst=burst)


if __name__ == "__main__":
    sys.exit(main())
