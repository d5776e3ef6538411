"""One sync run over every reseller: read usage, store it, total it per reseller."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

import peewee

from models import Reseller, ResellerConfig, database_proxy
from models.fields import utc_now
from usage.accounting import reseller_used_bytes
from usage.summary import SyncSummary
from worker.errors import LockLostError

logger = logging.getLogger(__name__)

# Resellers an operator disabled are left alone; suspended ones are still
# synced so that they can be reactivated once they have headroom.
SYNCED_STATUSES = ("active", "suspended")


class UsageSync:
    """Runs one sync; `should_stop` is polled between resellers (lock lost, shutdown)."""

    def __init__(
        self,
        should_stop: Callable[[], bool] = lambda: False,
        progress: Callable[[int, int], None] | None = None,
        clock: Callable = utc_now,
        job_id: str | None = None,
    ):
        self.should_stop = should_stop
        self.progress = progress
        self.clock = clock
        self.job_id = job_id

    def run(self) -> SyncSummary:
        started = time.monotonic()
        summary = SyncSummary()
        resellers = list(
            Reseller.select().where(Reseller.status.in_(SYNCED_STATUSES)).order_by(Reseller.id)
        )
        for done, reseller in enumerate(resellers, start=1):
            if self.should_stop():
                raise LockLostError(f"Job {self.job_id} lost the sync lock; stopping", job_id=self.job_id)
            self.sync_reseller(reseller)
            summary.resellers += 1
            if self.progress:
                self.progress(done, len(resellers))
        summary.duration_seconds = time.monotonic() - started
        return summary

    def sync_reseller(self, reseller: Reseller) -> None:
        logger.info("Syncing usage for reseller %s", reseller.id, extra={"reseller_id": reseller.id})
        with database_proxy.atomic():
            consumed = ResellerConfig.select(
                peewee.fn.COALESCE(peewee.fn.SUM(ResellerConfig.usage_bytes + ResellerConfig.settled_usage_bytes), 0)
            ).where(ResellerConfig.reseller == reseller.id).scalar()
            used = reseller_used_bytes([int(consumed or 0)], reseller.admin_forgiven_bytes)
            Reseller.update(traffic_used_bytes=used, last_synced_at=self.clock()).where(
                Reseller.id == reseller.id
            ).execute()
