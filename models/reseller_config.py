"""The `reseller_configs` table: one VPN account, a user on one panel."""

from __future__ import annotations

import peewee

from models.database import BaseModel
from models.fields import utc_now
from models.panel import Panel
from models.reseller import Reseller

CONFIG_STATUSES = ("active", "disabled", "expired")


class ResellerConfig(BaseModel):
    reseller = peewee.ForeignKeyField(Reseller, backref="configs", on_delete="CASCADE")
    panel = peewee.ForeignKeyField(Panel, backref="configs", on_delete="RESTRICT")
    # The panel's username (Marzban, Marzneshin) or client email (3x-ui).
    panel_username = peewee.CharField(max_length=191)
    status = peewee.CharField(max_length=16, default="active", index=True)
    disabled_reason = peewee.CharField(max_length=64, null=True)
    # True when a reseller suspension disabled this config, so reactivation re-enables only these.
    disabled_by_suspension = peewee.BooleanField(default=False)
    # The panel's current counter, as last read.
    usage_bytes = peewee.BigIntegerField(default=0)
    # Bytes consumed before the panel's counter was reset.
    settled_usage_bytes = peewee.BigIntegerField(default=0)
    # The panel's lifetime counter at the last good read, where the panel has one.
    last_lifetime_bytes = peewee.BigIntegerField(null=True)
    limit_bytes = peewee.BigIntegerField(null=True)
    expires_at = peewee.DateTimeField(null=True)
    last_synced_at = peewee.DateTimeField(null=True)
    last_sync_error = peewee.TextField(null=True)
    # A remote operation ("disable" or "enable") still to be confirmed by the panel.
    remote_pending = peewee.CharField(max_length=16, null=True)
    remote_attempts = peewee.IntegerField(default=0)
    remote_last_error = peewee.TextField(null=True)
    created_at = peewee.DateTimeField(default=utc_now)

    class Meta:
        table_name = "reseller_configs"
        indexes = ((("panel", "panel_username"), True),)

    @property
    def consumed_bytes(self) -> int:
        return self.usage_bytes + self.settled_usage_bytes
