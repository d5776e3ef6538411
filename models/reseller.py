"""The `resellers` table: who sells configs, with their traffic quota and time window."""

from __future__ import annotations

import peewee

from models.database import BaseModel
from models.fields import utc_now

RESELLER_TYPES = ("traffic", "wallet")
RESELLER_STATUSES = ("active", "suspended", "disabled")


class Reseller(BaseModel):
    name = peewee.CharField(max_length=191)
    type = peewee.CharField(max_length=16, default="traffic")
    status = peewee.CharField(max_length=16, default="active", index=True)
    # Why the sync suspended the reseller; None when an operator set the status.
    suspension_reason = peewee.CharField(max_length=64, null=True)
    traffic_total_bytes = peewee.BigIntegerField(default=0)
    traffic_used_bytes = peewee.BigIntegerField(default=0)
    admin_forgiven_bytes = peewee.BigIntegerField(default=0)
    window_starts_at = peewee.DateTimeField(null=True)
    window_ends_at = peewee.DateTimeField(null=True)
    last_synced_at = peewee.DateTimeField(null=True)
    created_at = peewee.DateTimeField(default=utc_now)

    class Meta:
        table_name = "resellers"
