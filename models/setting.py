"""The `settings` table: operator-tunable values, keyed by a dotted name."""

from __future__ import annotations

import peewee

from models.database import BaseModel, is_mysql
from models.fields import utc_now

# 191 characters keeps the unique index within InnoDB's 767-byte limit under utf8mb4.
KEY_MAX_LENGTH = 191


class Setting(BaseModel):
    key = peewee.CharField(max_length=KEY_MAX_LENGTH, unique=True)
    value = peewee.TextField(null=True)
    updated_at = peewee.DateTimeField(default=utc_now)

    class Meta:
        table_name = "settings"

    @classmethod
    def get(cls, key, default=None, **filters):  # type: ignore[override]
        """Return the stored value for `key`, or `default` when there is no row."""
        if not isinstance(key, str):
            # peewee's own get_by_id and get_or_none call Model.get(expression, ...).
            expressions = (key,) if default is None else (key, default)
            return super().get(*expressions, **filters)
        row = cls.select(cls.value).where(cls.key == key).first()
        if row is None or row.value is None:
            return default
        return row.value

    @classmethod
    def set_value(cls, key: str, value: str) -> None:
        """Insert or update `key` in one upsert statement on every backend."""
        query = cls.insert(key=key, value=value, updated_at=utc_now())
        if is_mysql():
            # MySQL and MariaDB take no conflict target. peewee 4.5.3 emits ON DUPLICATE KEY UPDATE
            # `value` = VALUES(`value`), ..., which finds the existing row through the unique index on `key`.
            query = query.on_conflict(preserve=[cls.value, cls.updated_at])
        else:
            # PostgreSQL 9.5+ and SQLite 3.24+: ON CONFLICT ("key") DO UPDATE SET "value" = EXCLUDED."value", ...
            query = query.on_conflict(conflict_target=[cls.key], preserve=[cls.value, cls.updated_at])
        query.execute()

    @classmethod
    def delete_value(cls, key: str) -> bool:
        return cls.delete().where(cls.key == key).execute() > 0

    @classmethod
    def all_values(cls) -> dict[str, str | None]:
        return {row.key: row.value for row in cls.select(cls.key, cls.value).order_by(cls.key)}
