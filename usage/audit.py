"""Writing `audit_logs` rows for the state changes a sync makes."""

from __future__ import annotations

import json
from datetime import datetime

from models import AuditLog
from usage.enforcement import DISABLE, ConfigAction
from usage.remote_ops import RemoteResult


def record(action: str, target_type: str, target_id: int, reseller_id: int, reason: str | None,
           details: dict, now: datetime) -> None:
    AuditLog.create(action=action, target_type=target_type, target_id=target_id, reseller_id=reseller_id,
                    reason=reason, details=json.dumps(details, default=str, sort_keys=True), created_at=now)


def record_config_result(action: ConfigAction, result: RemoteResult, reseller_id: int, now: datetime) -> None:
    """Record one row for a remote operation: the state change it made, or its failure."""
    details = {
        "operation": action.operation,
        "panel_id": action.panel_id,
        "remote_success": result.success,
        "attempts": action.previous_attempts + 1,
        "last_error": result.error,
    }
    if action.reenabled_by_panel:
        details["reenabled_by_panel"] = True
    if not result.success:
        record("remote_operation_failed", "config", action.config_id, reseller_id, action.reason, details, now)
        return
    name = "config_auto_disabled" if action.operation == DISABLE else "config_auto_enabled"
    reason = action.reason if action.operation == DISABLE else "reseller_reactivated"
    record(name, "config", action.config_id, reseller_id, reason, details, now)
