"""Prometheus metrics for the sync, computed from a fresh snapshot at every collection.

The metrics live in a private CollectorRegistry, so nothing from
prometheus_client's global registry (process and platform collectors) is
mixed in. Every value is a gauge because it is read from `sync_runs` and
Redis, not counted by this process.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

import peewee
import redis
from prometheus_client.core import CollectorRegistry, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from models import database_proxy
from models.sync_run import RUN_STATUSES
from monitoring.snapshot import Snapshot, as_utc, take_snapshot
from worker.config import Config

logger = logging.getLogger(__name__)

PREFIX = "usage_sync_"


def _gauge(name: str, documentation: str, value: float) -> GaugeMetricFamily:
    return GaugeMetricFamily(PREFIX + name, documentation, value=value)


def _labelled_gauge(name: str, documentation: str, label: str, values: dict[str, float]) -> GaugeMetricFamily:
    family = GaugeMetricFamily(PREFIX + name, documentation, labels=[label])
    for key, value in values.items():
        family.add_metric([key], value)
    return family


def run_metrics(snapshot: Snapshot) -> Iterator[Metric]:
    """Yield the metrics read from `sync_runs`."""
    runs = snapshot.runs
    success = runs.last_success
    finished = runs.last_finished
    success_at = as_utc(success.finished_at).timestamp() if success else 0
    yield _gauge("last_success_timestamp_seconds",
                 "Unix time the last successful sync finished; 0 when none has.", success_at)
    yield _gauge("last_run_duration_seconds", "Duration of the last finished sync attempt, succeeded or failed.",
                 (finished.duration_seconds or 0) if finished else 0)
    yield _gauge("last_run_succeeded", "1 when the last finished sync attempt succeeded, else 0.",
                 1 if finished is not None and finished.status == "succeeded" else 0)
    yield _gauge("configs_synced", "Configs read in the last successful sync.",
                 success.configs_synced if success else 0)
    yield _gauge("configs_failed", "Configs that could not be read in the last successful sync.",
                 success.configs_failed if success else 0)
    yield _gauge("panels_failing", "Panels that could not be read in the last successful sync.",
                 success.panels_failed if success else 0)
    yield _gauge("pending_remote_operations",
                 "Disable or enable operations still unconfirmed by a panel after the last successful sync.",
                 success.pending_operations if success else 0)
    counts = {status: runs.counts_by_status.get(status, 0) for status in RUN_STATUSES}
    yield _labelled_gauge("runs", "Rows in sync_runs by status (one row per attempt).", "status", counts)


def redis_metrics(snapshot: Snapshot) -> Iterator[Metric]:
    """Yield the metrics read from Redis, and the health verdict."""
    lock = snapshot.lock
    yield _gauge("lock_held", "1 while a sync holds the unique lock (queued or running), else 0.",
                 1 if lock.holder else 0)
    yield _gauge("lock_seconds_left", "Seconds until the unique lock expires unless renewed; 0 when free.",
                 lock.seconds_left or 0)
    yield _labelled_gauge("queue_depth", "Jobs waiting in each RQ queue.", "queue", snapshot.queue_depths)
    yield _labelled_gauge("failed_jobs", "Jobs in each queue's RQ failed-job registry.", "queue", snapshot.failed_jobs)
    yield _gauge("workers", "RQ workers registered in Redis.", len(snapshot.workers))
    yield _gauge("interval_minutes", "The effective sync interval in minutes.", snapshot.interval_minutes)
    yield _gauge("healthy", "1 when a sync succeeded within the health threshold, else 0 (as `status`).",
                 1 if snapshot.health.healthy else 0)
    yield _gauge("health_threshold_seconds", "Seconds without a successful sync after which `status` is unhealthy.",
                 snapshot.health.threshold_seconds)


class SyncMetricsCollector(Collector):
    """Collector that takes a snapshot at every collection, so each scrape gets current values."""

    def __init__(self, connection: redis.Redis, config: Config, log_errors: bool = False):
        self.connection = connection
        self.config = config
        self.log_errors = log_errors

    def collect(self) -> Iterator[Metric]:
        # The snapshot is taken in full before anything is yielded, so a Redis
        # or database error fails the whole scrape instead of truncating it.
        try:
            with database_proxy.connection_context():
                snapshot = take_snapshot(self.connection, self.config)
        except (redis.RedisError, peewee.PeeweeException) as error:
            if self.log_errors:
                logger.error("Collecting metrics failed: %s: %s", type(error).__name__, error)
            raise
        families = [*run_metrics(snapshot), *redis_metrics(snapshot)]
        yield from families


def build_registry(connection: redis.Redis, config: Config, log_errors: bool = False) -> CollectorRegistry:
    """Return a private registry that holds only the sync's metrics.

    `log_errors` logs a failed collection before raising it, for the HTTP
    server, whose caller (prometheus_client) returns HTTP 500 without logging.
    """
    registry = CollectorRegistry(auto_describe=False)
    registry.register(SyncMetricsCollector(connection, config, log_errors))
    return registry
