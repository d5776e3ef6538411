"""One sync run: read usage from every panel, store it, total it per reseller, enforce quotas.

The run has three stages. A light pass lists each config's panel and
username (usage.config_snapshot), and every panel is read in parallel.
Resellers are then planned from what was read, their full config rows
loaded a chunk of resellers at a time, so memory does not hold every row at
once. Resellers that need no remote operation are written at once. The
others wait while the disable and enable calls run (panels in parallel,
each rate-limited), and are written after them. Every reseller's writes
(counters, total, status, config states, audit rows) go in one transaction.
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass

import redis

from models import Panel, Reseller, ResellerConfig, database_proxy
from models.fields import utc_now
from panels import create_client
from usage import audit
from usage.client_pool import ClientPool
from usage.config_snapshot import ConfigSnapshot, load_snapshot, reseller_chunks
from usage.config_writer import (ConfigOutcome, ConfigRow, apply_remote_result, cancel_pending, load_config_rows,
                                 outcome_for, reseller_total, unread_outcome, update_reseller, write_outcomes)
from usage.enforcement import ResellerPlan, plan_reseller
from usage.limits import EnforcementSettings, load_enforcement_settings
from usage.panel_reads import PanelReadResult, read_all_panels
from usage.remote_ops import RemoteResult, run_remote_operations
from usage.summary import SyncSummary
from worker.errors import LockLostError
from worker.settings_store import SettingsStore

logger = logging.getLogger(__name__)

# Resellers an operator disabled are left alone; suspended ones are still
# synced so that they can be reactivated once they have headroom.
SYNCED_STATUSES = ("active", "suspended")
INACTIVE_PANEL_ERROR = "panel {panel_id} is inactive; its usage is not read"


@dataclass
class ResellerWork:
    reseller: Reseller
    outcomes: list[ConfigOutcome]
    used_bytes: int
    plan: ResellerPlan


class UsageSync:
    """Runs one sync; `should_stop` is polled between resellers (lock lost, shutdown)."""

    def __init__(
        self,
        should_stop: Callable[[], bool] = lambda: False,
        progress: Callable[[int, int], None] | None = None,
        clock: Callable = utc_now,
        job_id: str | None = None,
        client_factory=create_client,
        connection: redis.Redis | None = None,
        settings: EnforcementSettings | None = None,
    ):
        self.should_stop = should_stop
        self.progress = progress
        self.clock = clock
        self.job_id = job_id
        self.client_factory = client_factory
        self.connection = connection
        self.settings = settings

    def run(self) -> SyncSummary:
        started = time.monotonic()
        summary = SyncSummary()
        settings = self.settings or self._load_settings()
        pool = ClientPool(self.client_factory)
        try:
            self._run(pool, settings, summary)
        finally:
            summary.http_requests = pool.request_count()
            pool.close()
        summary.pending_operations = ResellerConfig.select().where(ResellerConfig.remote_pending.is_null(False)).count()
        summary.duration_seconds = time.monotonic() - started
        return summary

    def _load_settings(self) -> EnforcementSettings:
        if self.connection is None:
            return EnforcementSettings()
        return load_enforcement_settings(SettingsStore(self.connection))

    def _run(self, pool: ClientPool, settings: EnforcementSettings, summary: SyncSummary) -> None:
        resellers = {reseller.id: reseller for reseller in
                     Reseller.select().where(Reseller.status.in_(SYNCED_STATUSES)).order_by(Reseller.id)}
        reseller_ids = list(resellers)
        snapshot = load_snapshot(reseller_ids)
        reads = self._read_panels(pool, snapshot.usernames, summary)
        # The readings are stored by position now, so the usernames (tens of MB at a million configs) can go.
        snapshot.usernames = {}
        waiting: list[ResellerWork] = []
        done = 0
        for chunk in reseller_chunks(reseller_ids, snapshot):
            self._check_lock()
            rows_by_reseller: dict[int, list[ConfigRow]] = defaultdict(list)
            for row in load_config_rows(chunk):
                rows_by_reseller[row.reseller].append(row)
            for reseller_id in chunk:
                self._check_lock()
                rows = rows_by_reseller.pop(reseller_id, [])
                work = self._plan(resellers[reseller_id], rows, snapshot, reads, settings, summary)
                if work.plan.actions:
                    waiting.append(work)
                else:
                    self._write(work, {})
                done += 1
                if self.progress:
                    self.progress(done, len(reseller_ids))
        if waiting:
            self._run_waiting(pool, waiting, settings)

    def _run_waiting(self, pool: ClientPool, waiting: list[ResellerWork], settings: EnforcementSettings) -> None:
        self._check_lock()
        actions = [action for work in waiting for action in work.plan.actions]
        results = run_remote_operations(pool, actions, settings.remote_ops_per_second)
        for work in waiting:
            self._check_lock()
            self._write(work, results)

    def _check_lock(self) -> None:
        if self.should_stop():
            raise LockLostError(f"Job {self.job_id} lost the sync lock; stopping", job_id=self.job_id)

    def _read_panels(self, pool: ClientPool, usernames: dict[int, list[str]],
                     summary: SyncSummary) -> dict[int, PanelReadResult]:
        panels = {panel.id: panel for panel in Panel.select().where(Panel.id.in_(list(usernames)))}
        for panel in panels.values():
            pool.add(panel)
        active = {panel_id: names for panel_id, names in usernames.items() if panels[panel_id].is_active}
        reads = read_all_panels(pool, active)
        for panel_id, panel in panels.items():
            if not panel.is_active:
                reads[panel_id] = PanelReadResult(panel_id, error=INACTIVE_PANEL_ERROR.format(panel_id=panel_id))
            elif reads[panel_id].error is not None:
                summary.panels_failed += 1
                summary.failed_panels[panel_id] = reads[panel_id].error
        return reads

    def _plan(self, reseller: Reseller, rows: list[ConfigRow], snapshot: ConfigSnapshot,
              reads: dict[int, PanelReadResult], settings: EnforcementSettings, summary: SyncSummary) -> ResellerWork:
        logger.info("Syncing usage for reseller %s", reseller.id, extra={"reseller_id": reseller.id})
        outcomes = []
        for row, index in zip(rows, snapshot.match(reseller.id, rows)):
            if index is None:
                outcomes.append(unread_outcome(row))
            else:
                reading = reads[row.panel].reading_at(snapshot.positions[index], row.panel_username)
                outcomes.append(outcome_for(row, reading))
        used = reseller_total(reseller, outcomes)
        if reseller.type == "traffic":
            plan = plan_reseller(reseller, rows, outcomes, used, settings, self.clock())
        else:
            # Wallet resellers are tracked only: nothing is enforced.
            plan = ResellerPlan()
        summary.resellers += 1
        summary.configs_failed += sum(1 for outcome in outcomes if outcome.error is not None)
        summary.configs_synced += sum(1 for outcome in outcomes if outcome.read and outcome.error is None)
        return ResellerWork(reseller, outcomes, used, plan)

    def _write(self, work: ResellerWork, results: dict[int, RemoteResult]) -> None:
        reseller, plan = work.reseller, work.plan
        now = self.clock()
        with database_proxy.atomic():
            write_outcomes(work.outcomes, now)
            update_reseller(reseller, work.used_bytes, now, plan.new_status, plan.reason)
            if plan.new_status is not None:
                action = "reseller_suspended" if plan.new_status == "suspended" else "reseller_activated"
                reason = plan.reason if plan.new_status == "suspended" else "headroom_restored"
                audit.record(action, "reseller", reseller.id, reseller.id, reason, plan.details, now)
                logger.warning("Reseller %s %s (%s)", reseller.id, plan.new_status, reason,
                               extra={"reseller_id": reseller.id})
            for action in plan.actions:
                result = results.get(action.config_id, RemoteResult(False, "not attempted"))
                apply_remote_result(action, result.success, result.error)
                audit.record_config_result(action, result, reseller.id, now)
            cancel_pending(plan.cancelled_pending)
