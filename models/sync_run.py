"""The `sync_runs` table: one row per attempt of SyncResellerUsageJob."""

from __future__ import annotations

import peewee

from models.database import BaseModel
from models.fields import utc_now

RUN_STATUSES = ("running", "succeeded", "failed", "skipped")


class SyncRun(BaseModel):
    job_id = peewee.CharField(max_length=64, index=True)
    attempt = peewee.IntegerField(default=1)
    status = peewee.CharField(max_length=16, default="running", index=True)
    started_at = peewee.DateTimeField(default=utc_now, index=True)
    finished_at = peewee.DateTimeField(null=True)
    duration_seconds = peewee.FloatField(null=True)
    resellers = peewee.IntegerField(default=0)
    configs_synced = peewee.IntegerField(default=0)
    configs_failed = peewee.IntegerField(default=0)
    panels_failed = peewee.IntegerField(default=0)
    pending_operations = peewee.IntegerField(default=0)
    error = peewee.TextField(null=True)

    class Meta:
        table_name = "sync_runs"
