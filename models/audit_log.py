"""The `audit_logs` table: one row per state change the sync made."""

from __future__ import annotations

import json

import peewee

from models.database import BaseModel
from models.fields import utc_now

AUDIT_ACTIONS = (
    "reseller_suspended",
    "reseller_activated",
    "config_auto_disabled",
    "config_auto_enabled",
    "remote_operation_failed",
)


class AuditLog(BaseModel):
    action = peewee.CharField(max_length=64, index=True)
    target_type = peewee.CharField(max_length=32)
    target_id = peewee.BigIntegerField()
    # The reseller the target belongs to, so an operator can filter by it.
    reseller_id = peewee.BigIntegerField(null=True, index=True)
    reason = peewee.CharField(max_length=64, null=True)
    details = peewee.TextField(default="{}")
    created_at = peewee.DateTimeField(default=utc_now, index=True)

    class Meta:
        table_name = "audit_logs"

    @property
    def details_dict(self) -> dict:
        return json.loads(self.details or "{}")
