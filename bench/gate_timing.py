"""Timings of the per-minute work that runs while a sync holds the lock.

Three paths are timed through the product's functions: the gate for a due
tick that finds the lock held (so the dispatch is skipped), the gate for a
tick that is not due, and `SyncResellerUsageJob.dispatch` with the lock
held. The gate's clock is moved to each tick, so no tick is dropped as stale
and none needs `force`.
"""

from __future__ import annotations

import statistics
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from jobs import gate
from jobs.sync_reseller_usage import SyncResellerUsageJob
from jobs.tick import tick_label
from models import database_proxy
from models.database import ensure_database
from worker.config import Config
from worker.redis_connection import get_redis
from worker.settings_store import SettingsStore
from worker.unique_lock import UniqueLock

WARMUP_CALLS = 5
# Minutes far in the past, which no running scheduler claims.
FIRST_TICK = datetime(2001, 1, 1, tzinfo=timezone.utc)


@dataclass(frozen=True)
class Timing:
    name: str
    calls: int
    median_ms: float
    max_ms: float


def _time_calls(name: str, calls: int, call: Callable[[int], None]) -> Timing:
    for number in range(WARMUP_CALLS):
        call(number)
    durations = []
    for number in range(WARMUP_CALLS, WARMUP_CALLS + calls):
        started = time.perf_counter()
        call(number)
        durations.append((time.perf_counter() - started) * 1000)
    return Timing(name, calls, statistics.median(durations), max(durations))


def _tick(number: int, interval: int, due: bool) -> datetime:
    # Ticks two intervals apart, so a due tick and its not-due neighbour never share a minute.
    start = FIRST_TICK + timedelta(minutes=2 * interval * number)
    return start if due else start + timedelta(minutes=1)


def _interval_minutes(connection) -> int:
    with database_proxy.connection_context():
        interval, _ = SettingsStore(connection).interval_minutes()
    if interval == 1:
        raise SystemExit("the sync interval is 1 minute, so no tick is ever not due; "
                         "remove the interval override from the benchmark's Redis database")
    return interval


def time_gate_paths(redis_url: str, database_url: str, calls: int) -> list[Timing]:
    """Time each path `calls` times with a lock held by a placeholder job; clean up the keys used."""
    config = Config(redis_url=redis_url, database_url=database_url)
    ensure_database(database_url)
    connection = get_redis(config)
    interval = _interval_minutes(connection)
    lock = UniqueLock(connection, config.lock_ttl_seconds)
    holder = f"bench-holder-{uuid.uuid4().hex}"
    if not lock.acquire(holder):
        raise SystemExit("the sync lock is held by another job; the gate timings need it free")
    used_ticks: list[datetime] = []
    real_clock = gate.clock

    def evaluate(number: int, due: bool, expected: str) -> None:
        tick = _tick(number, interval, due)
        used_ticks.append(tick)
        gate.clock = lambda: tick.timestamp() + 1
        outcome = gate.evaluate_tick(tick, connection, config)
        if outcome.outcome != expected:
            raise RuntimeError(f"gate for {tick.isoformat()} returned {outcome.outcome!r}, expected {expected!r}")

    def dispatch(number: int) -> None:
        if SyncResellerUsageJob.dispatch(connection, config) is not None:
            raise RuntimeError("dispatch ran although the lock was held")

    try:
        return [
            _time_calls("gate, due tick, lock held (dispatch skipped)", calls,
                        lambda number: evaluate(number, True, gate.ALREADY_QUEUED)),
            _time_calls("gate, tick not due", calls, lambda number: evaluate(number, False, gate.NOT_DUE)),
            _time_calls("dispatch with the lock held", calls, dispatch),
        ]
    finally:
        gate.clock = real_clock
        lock.release(holder)
        keys = [gate.TICK_KEY_PREFIX + tick_label(tick) for tick in used_ticks] + [gate.LAST_TICK_KEY]
        connection.delete(*keys)
