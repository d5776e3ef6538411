"""The `panels` table: the remote panels whose users are resellers' configs."""

from __future__ import annotations

import peewee

from models.database import BaseModel
from models.fields import utc_now

PANEL_TYPES = ("marzban", "marzneshin", "xui")


class Panel(BaseModel):
    name = peewee.CharField(max_length=191, unique=True)
    type = peewee.CharField(max_length=16)
    # For 3x-ui this includes the panel's web base path.
    base_url = peewee.CharField(max_length=1024)
    username = peewee.CharField(max_length=255)
    password = peewee.CharField(max_length=1024)
    api_token = peewee.CharField(max_length=1024, null=True)
    verify_tls = peewee.BooleanField(default=True)
    is_active = peewee.BooleanField(default=True)
    max_concurrent_requests = peewee.IntegerField(default=4)
    created_at = peewee.DateTimeField(default=utc_now)

    class Meta:
        table_name = "panels"

    def __repr__(self) -> str:
        # The password and token are left out so a repr never leaks them into a log.
        return f"<Panel {self.id} {self.name!r} {self.type} {self.base_url}>"
