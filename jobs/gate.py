"""The minute gate: decides, for one scheduler tick, whether SyncResellerUsageJob is due.

rq-scheduler 0.14 does not elect a leader, so two schedulers can both enqueue
a gate for the same minute. The gate therefore claims
`usage-sync:tick:<minute>` with SET NX before doing anything: the second
gate for a minute finds the claim and stops.
"""

from __future__ import annotations

import logging
import time
from dataclasses import asdict, dataclass
from datetime import datetime, timezone

import peewee
import redis
from rq import get_current_job

from jobs.orphan_lock import recover_orphaned_lock
from jobs.sync_reseller_usage import SyncResellerUsageJob
from jobs.tick import is_due, parse_tick, tick_label
from models.connections import job_connection
from models.database import ensure_database
from usage.summary import SyncSummary
from worker.config import TICK_CLAIM_TTL_SECONDS, Config, get_config
from worker.errors import UsageSyncError
from worker.logging_setup import configure_logging, log_context
from worker.redis_connection import get_redis
from worker.settings_store import (DEFAULT_INTERVAL_MINUTES, INTERVAL_KEY, MAX_INTERVAL_MINUTES, MIN_INTERVAL_MINUTES,
                                   OVERRIDE_HASH_KEY, SOURCE_DEFAULT, SOURCE_REDIS, SettingsStore, SettingValue,
                                   parse_clamped_int)

logger = logging.getLogger(__name__)

TICK_KEY_PREFIX = "usage-sync:tick:"
LAST_TICK_KEY = "usage-sync:last-tick"

DISPATCHED = "dispatched"
NOT_DUE = "not due"
TICK_ALREADY_HANDLED = "tick already handled"
ALREADY_QUEUED = "already queued or running"
STALE_TICK = "stale tick"

# The gate's clock, a module attribute so tests can move time.
clock = time.time


@dataclass(frozen=True)
class GateOutcome:
    tick: str
    outcome: str
    interval: int | None = None
    interval_source: str | None = None
    job_id: str | None = None

    def to_dict(self) -> dict:
        return asdict(self)


def run_gate(tick: str, force: bool = False) -> dict:
    """The RQ entry point the scheduler enqueues once a minute."""
    config = get_config()
    configure_logging(config.log_level, config.log_format)
    job = get_current_job()
    with log_context(job_id=job.id if job is not None else None):
        return evaluate_tick(tick, get_redis(config), config, force=force).to_dict()


def evaluate_tick(
    tick_value: str | datetime, connection: redis.Redis, config: Config, force: bool = False
) -> GateOutcome:
    """Run the gate for one tick; `force` (an operator's `schedule run`) ignores the tick's age."""
    tick = parse_tick(tick_value)
    label = tick.isoformat().replace("+00:00", "Z")
    # Every line logged for this tick, the dispatch's skip included, carries it as a field.
    with log_context(tick=label):
        return _evaluate(tick, label, connection, config, force)


def _evaluate(tick: datetime, label: str, connection: redis.Redis, config: Config, force: bool) -> GateOutcome:
    age_seconds = clock() - tick.timestamp()
    if not force and age_seconds > config.tick_ttl_seconds:
        logger.info("Tick %s dropped: %.0f s old, older than its %d s time-to-live", label, age_seconds,
                    config.tick_ttl_seconds, extra={"tick": label})
        return _record(connection, GateOutcome(label, STALE_TICK))

    claimed = connection.set(TICK_KEY_PREFIX + tick_label(tick), _claimant(), nx=True, ex=TICK_CLAIM_TTL_SECONDS)
    if not claimed:
        logger.info("Tick %s skipped: tick already handled by another gate run", label, extra={"tick": label})
        return GateOutcome(label, TICK_ALREADY_HANDLED)

    interval, setting = _read_interval(connection, config, label)
    if not is_due(tick, interval):
        logger.debug("Tick %s: not due (interval: %d minutes)", label, interval, extra={"tick": label})
        return _record(connection, GateOutcome(label, NOT_DUE, interval, setting.source))

    logger.info("Scheduling SyncResellerUsageJob (interval: %d minutes)", interval, extra={"tick": label})
    dispatched = SyncResellerUsageJob.dispatch(connection, config, meta={"tick": label})
    if dispatched is None and recover_orphaned_lock(connection, config):
        dispatched = SyncResellerUsageJob.dispatch(connection, config, meta={"tick": label})
    if dispatched is None:
        return _record(connection, GateOutcome(label, ALREADY_QUEUED, interval, setting.source))
    job_id = None if isinstance(dispatched, SyncSummary) else dispatched.id
    return _record(connection, GateOutcome(label, DISPATCHED, interval, setting.source, job_id))


def _read_interval(connection: redis.Redis, config: Config, label: str) -> tuple[int, SettingValue]:
    """Read the interval; with the database down, a Redis override or the default still decides the tick."""
    store = SettingsStore(connection)
    try:
        ensure_database(config.database_url)
        with job_connection():
            return store.interval_minutes()
    except (peewee.DatabaseError, UsageSyncError) as error:
        setting = SettingValue(INTERVAL_KEY, None, SOURCE_DEFAULT)
        override = connection.hget(OVERRIDE_HASH_KEY, INTERVAL_KEY)
        if override is not None:
            setting = SettingValue(INTERVAL_KEY, override.decode("utf-8", "replace"), SOURCE_REDIS)
        logger.error("Tick %s: settings table unreadable (%s); deciding with the interval from %s",
                     label, error, setting.source, extra={"tick": label})
        return parse_clamped_int(setting, DEFAULT_INTERVAL_MINUTES, MIN_INTERVAL_MINUTES,
                                 MAX_INTERVAL_MINUTES), setting


def _claimant() -> str:
    return datetime.now(timezone.utc).isoformat()


def _record(connection: redis.Redis, outcome: GateOutcome) -> GateOutcome:
    """Keep the last tick's outcome for `schedule list` and `status`."""
    fields = {key: str(value) for key, value in outcome.to_dict().items() if value is not None}
    fields["recorded_at"] = datetime.now(timezone.utc).isoformat()
    with connection.pipeline() as pipe:
        pipe.delete(LAST_TICK_KEY)
        pipe.hset(LAST_TICK_KEY, mapping=fields)
        pipe.execute()
    return outcome


def last_tick(connection: redis.Redis) -> dict[str, str]:
    raw = connection.hgetall(LAST_TICK_KEY)
    return {key.decode(): value.decode() for key, value in raw.items()}
