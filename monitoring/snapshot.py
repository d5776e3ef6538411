"""A point-in-time view of the sync for `status` and `metrics`.

It reads Redis (the lock, the queues, RQ's workers, the interval override)
and the database (`sync_runs`, the settings table). It writes nothing of its
own; RQ 2.12's `Worker.all` does drop the keys of expired workers from its
own worker set. The caller must have a database connection open.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone

import peewee
import redis
from rq import Queue, Worker
from rq.registry import FailedJobRegistry

from models import SyncRun
from monitoring.health import HealthVerdict, assess_health
from worker.config import WORKER_QUEUE_NAMES, Config
from worker.settings_store import SettingsStore
from worker.unique_lock import LockState, UniqueLock

RECENT_RUNS = 5
FINISHED_STATUSES = ("succeeded", "failed")


@dataclass(frozen=True)
class WorkerInfo:
    name: str
    state: str
    queues: list[str]
    current_job_id: str | None
    last_heartbeat: datetime | None
    successful_job_count: int
    failed_job_count: int


@dataclass(frozen=True)
class RunHistory:
    recent: list[SyncRun]
    last_success: SyncRun | None
    last_finished: SyncRun | None
    counts_by_status: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Snapshot:
    taken_at: datetime
    lock: LockState
    queue_depths: dict[str, int]
    failed_jobs: dict[str, int]
    workers: list[WorkerInfo]
    runs: RunHistory
    interval_minutes: int
    interval_source: str
    health: HealthVerdict


def as_utc(moment: datetime | None) -> datetime | None:
    """Mark a naive UTC timestamp from the database as UTC."""
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=timezone.utc)


def queue_names(config: Config) -> list[str]:
    return list(dict.fromkeys([*WORKER_QUEUE_NAMES, config.queue_name]))


def read_workers(connection: redis.Redis) -> list[WorkerInfo]:
    workers = []
    for worker in Worker.all(connection=connection):
        state = worker.get_state()
        workers.append(WorkerInfo(
            name=worker.name,
            state=getattr(state, "value", str(state)),
            queues=worker.queue_names(),
            current_job_id=worker.get_current_job_id(),
            last_heartbeat=as_utc(worker.last_heartbeat),
            successful_job_count=worker.successful_job_count,
            failed_job_count=worker.failed_job_count,
        ))
    return sorted(workers, key=lambda info: info.name)


def _failed_job_count(connection: redis.Redis, queue_name: str) -> int:
    # cleanup=False: a snapshot only reads, and the workers clean the registries.
    return FailedJobRegistry(queue_name, connection=connection).get_job_count(cleanup=False)


def read_run_history(recent: int = RECENT_RUNS) -> RunHistory:
    """Read the latest `sync_runs` rows, the last success, the last finished attempt and counts by status."""
    newest_first = SyncRun.select().order_by(SyncRun.id.desc())
    last_success = (
        SyncRun.select().where(SyncRun.status == "succeeded").order_by(SyncRun.finished_at.desc()).first()
    )
    last_finished = (
        SyncRun.select().where(SyncRun.status.in_(FINISHED_STATUSES)).order_by(SyncRun.finished_at.desc()).first()
    )
    counts = {
        row.status: row.count
        for row in SyncRun.select(SyncRun.status, peewee.fn.COUNT(SyncRun.id).alias("count")).group_by(SyncRun.status)
    }
    return RunHistory(list(newest_first.limit(recent)), last_success, last_finished, counts)


def take_snapshot(connection: redis.Redis, config: Config, now: datetime | None = None,
                  recent: int = RECENT_RUNS) -> Snapshot:
    """Read everything `status` and `metrics` report; needs an open database connection."""
    now = now or datetime.now(timezone.utc)
    names = queue_names(config)
    interval, setting = SettingsStore(connection).interval_minutes()
    runs = read_run_history(recent)
    last_success_at = as_utc(runs.last_success.finished_at) if runs.last_success else None
    return Snapshot(
        taken_at=now,
        lock=UniqueLock(connection, config.lock_ttl_seconds).state(),
        queue_depths={name: Queue(name, connection=connection).count for name in names},
        failed_jobs={name: _failed_job_count(connection, name) for name in names},
        workers=read_workers(connection),
        runs=runs,
        interval_minutes=interval,
        interval_source=setting.source,
        health=assess_health(last_success_at, now, interval, config.job_timeout_seconds),
    )
