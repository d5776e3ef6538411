"""Quota and time-window decisions for one traffic reseller and its configs.

The plan is computed from what the run has just read and what is stored;
nothing here writes or calls a panel. Every rule compares the wanted state
with the current one, so a run that finds everything in place plans nothing,
and a run after a failed or interrupted one plans what is still missing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from usage.config_writer import ConfigOutcome
from usage.limits import EnforcementSettings, effective_limit, is_over_limit

QUOTA_EXHAUSTED = "reseller_quota_exhausted"
WINDOW_EXPIRED = "reseller_window_expired"
RESELLER_SUSPENDED = "reseller_suspended"
TRAFFIC_EXCEEDED = "traffic_exceeded"
TIME_EXPIRED = "time_expired"
# Reasons the sync sets, and so the only ones it undoes or re-applies.
SYNC_RESELLER_REASONS = (QUOTA_EXHAUSTED, WINDOW_EXPIRED)
SYNC_CONFIG_REASONS = (RESELLER_SUSPENDED, TRAFFIC_EXCEEDED, TIME_EXPIRED)

DISABLE = "disable"
ENABLE = "enable"


@dataclass(frozen=True)
class ConfigAction:
    """A remote operation for one config, and the local state to store once the panel confirms it."""

    config_id: int
    panel_id: int
    username: str
    operation: str  # DISABLE or ENABLE
    new_status: str
    reason: str | None
    by_suspension: bool
    previous_attempts: int = 0
    reenabled_by_panel: bool = False


@dataclass
class ResellerPlan:
    new_status: str | None = None  # None keeps the current status
    reason: str | None = None
    details: dict = field(default_factory=dict)
    actions: list[ConfigAction] = field(default_factory=list)
    # Configs whose pending remote operation is no longer wanted.
    cancelled_pending: list[int] = field(default_factory=list)


def reseller_transition(reseller, used_bytes: int, settings: EnforcementSettings, now: datetime) -> ResellerPlan:
    """Decide whether a traffic reseller is suspended or reactivated."""
    limit = effective_limit(reseller.traffic_total_bytes, settings.reseller_grace_percent, settings.reseller_grace_bytes)
    over = is_over_limit(used_bytes, reseller.traffic_total_bytes, settings.reseller_grace_percent,
                         settings.reseller_grace_bytes)
    expired = reseller.window_ends_at is not None and now >= reseller.window_ends_at
    details = {"used_bytes": used_bytes, "effective_limit_bytes": limit,
               "window_ends_at": reseller.window_ends_at.isoformat() if reseller.window_ends_at else None}
    plan = ResellerPlan(details=details)
    if reseller.status == "active" and (over or expired):
        plan.new_status = "suspended"
        plan.reason = QUOTA_EXHAUSTED if over else WINDOW_EXPIRED
    elif reseller.status == "suspended" and reseller.suspension_reason in SYNC_RESELLER_REASONS:
        if not over and not expired:
            plan.new_status = "active"
    return plan


def _action(row, operation: str, status: str, reason: str | None, by_suspension: bool,
            reenabled: bool = False) -> ConfigAction:
    return ConfigAction(row.id, row.panel, row.panel_username, operation, status, reason, by_suspension,
                        row.remote_attempts, reenabled)


def config_action(row, outcome: ConfigOutcome, suspended: bool, settings: EnforcementSettings,
                  now: datetime) -> ConfigAction | None:
    """Return the remote operation one config needs, or None when it is where it should be."""
    panel_enabled = outcome.panel_enabled
    if row.status == "active":
        if suspended:
            return _action(row, DISABLE, "disabled", RESELLER_SUSPENDED, True)
        if settings.allow_config_overrun:
            return None
        if row.limit_bytes is not None and is_over_limit(outcome.counters.consumed_bytes, row.limit_bytes,
                                                         settings.config_grace_percent, settings.config_grace_bytes):
            return _action(row, DISABLE, "disabled", TRAFFIC_EXCEEDED, False)
        if row.expires_at is not None and now >= row.expires_at:
            return _action(row, DISABLE, "expired", TIME_EXPIRED, False)
        return None
    if row.disabled_by_suspension and not suspended:
        return _action(row, ENABLE, "active", None, False)
    if row.disabled_reason in SYNC_CONFIG_REASONS and panel_enabled is True:
        # The panel switched the user back on by itself (Marzban and 3x-ui do on a traffic reset).
        return _action(row, DISABLE, row.status, row.disabled_reason, row.disabled_by_suspension, reenabled=True)
    return None


def plan_reseller(reseller, rows: list, outcomes: list[ConfigOutcome], used_bytes: int,
                  settings: EnforcementSettings, now: datetime) -> ResellerPlan:
    """Plan the reseller's status change and its configs' remote operations."""
    plan = reseller_transition(reseller, used_bytes, settings, now)
    status = plan.new_status or reseller.status
    reason = plan.reason if plan.new_status == "suspended" else reseller.suspension_reason
    suspended = status == "suspended" and reason in SYNC_RESELLER_REASONS
    for row, outcome in zip(rows, outcomes):
        action = config_action(row, outcome, suspended, settings, now)
        if action is not None:
            plan.actions.append(action)
        elif row.remote_pending is not None:
            plan.cancelled_pending.append(row.id)
    return plan
