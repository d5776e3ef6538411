"""Settings as the sync reads them: the Redis override hash, then the `settings` table, then a default.

An operator changes a value at run time with
`redis-cli HSET usage-sync:settings KEY VALUE` (and reverts with HDEL) or
with `manage.py settings set`; both apply at the next tick, no restart needed.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

import redis

from models.setting import Setting

logger = logging.getLogger(__name__)

OVERRIDE_HASH_KEY = "usage-sync:settings"
INTERVAL_KEY = "reseller.usage_sync_interval_minutes"
DEFAULT_INTERVAL_MINUTES = 5
MIN_INTERVAL_MINUTES = 1
MAX_INTERVAL_MINUTES = 5

# Settings the sync reads, with the default it uses when a setting is unset.
KNOWN_SETTINGS: dict[str, str] = {
    INTERVAL_KEY: str(DEFAULT_INTERVAL_MINUTES),
    "reseller.auto_disable_grace_percent": "2",
    "reseller.auto_disable_grace_bytes": "52428800",
    "config.auto_disable_grace_percent": "2",
    "config.auto_disable_grace_bytes": "52428800",
    "reseller.allow_config_overrun": "true",
    "panel.remote_operations_per_second": "3",
}

_INTEGER = re.compile(r"[+-]?\d+")

# Where an effective value came from, as `settings list` and `schedule list` show it.
SOURCE_REDIS = "redis"
SOURCE_DATABASE = "database"
SOURCE_DEFAULT = "default"


@dataclass(frozen=True)
class SettingValue:
    key: str
    raw: str | None
    source: str


class SettingsStore:
    """Reads one setting through its layers; each read goes to Redis and the database."""

    def __init__(self, connection: redis.Redis):
        self.connection = connection

    def lookup(self, key: str) -> SettingValue:
        override = self.connection.hget(OVERRIDE_HASH_KEY, key)
        if override is not None:
            return SettingValue(key, override.decode("utf-8", "replace"), SOURCE_REDIS)
        stored = Setting.get(key)
        if stored is not None:
            return SettingValue(key, stored, SOURCE_DATABASE)
        return SettingValue(key, None, SOURCE_DEFAULT)

    def overrides(self) -> dict[str, str]:
        raw = self.connection.hgetall(OVERRIDE_HASH_KEY)
        return {key.decode(): value.decode("utf-8", "replace") for key, value in raw.items()}

    def integer(self, key: str, default: int, minimum: int, maximum: int) -> tuple[int, SettingValue]:
        """Return the setting as an integer clamped to [minimum, maximum], or `default` if invalid."""
        setting = self.lookup(key)
        return parse_clamped_int(setting, default, minimum, maximum), setting

    def interval_minutes(self) -> tuple[int, SettingValue]:
        return self.integer(INTERVAL_KEY, DEFAULT_INTERVAL_MINUTES, MIN_INTERVAL_MINUTES, MAX_INTERVAL_MINUTES)


def parse_clamped_int(setting: SettingValue, default: int, minimum: int, maximum: int) -> int:
    """Parse a whole number (surrounding whitespace allowed) and clamp it; anything else gives `default`."""
    if setting.raw is None:
        return default
    text = setting.raw.strip()
    if not _INTEGER.fullmatch(text):
        logger.warning(
            "Setting %s has invalid value %r (from %s): expected a whole number; using the default %d",
            setting.key,
            setting.raw,
            setting.source,
            default,
        )
        return default
    if len(text) > 30:
        # Python refuses to parse integers of more than 4,300 digits; the sign decides the clamp anyway.
        return minimum if text.startswith("-") else maximum
    return max(minimum, min(maximum, int(text)))
