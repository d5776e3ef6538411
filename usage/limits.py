"""Grace arithmetic and the enforcement settings, read once per run."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from decimal import ROUND_FLOOR, Decimal

from worker.settings_store import SettingsStore, SettingValue

logger = logging.getLogger(__name__)

RESELLER_GRACE_PERCENT_KEY = "reseller.auto_disable_grace_percent"
RESELLER_GRACE_BYTES_KEY = "reseller.auto_disable_grace_bytes"
CONFIG_GRACE_PERCENT_KEY = "config.auto_disable_grace_percent"
CONFIG_GRACE_BYTES_KEY = "config.auto_disable_grace_bytes"
ALLOW_CONFIG_OVERRUN_KEY = "reseller.allow_config_overrun"
REMOTE_OPS_PER_SECOND_KEY = "panel.remote_operations_per_second"

DEFAULT_GRACE_PERCENT = Decimal(2)
DEFAULT_GRACE_BYTES = 50 * 1024**2
DEFAULT_ALLOW_CONFIG_OVERRUN = True
DEFAULT_REMOTE_OPS_PER_SECOND = 3.0
MAX_GRACE_PERCENT = Decimal(1000)
MAX_BYTES = 2**63 - 1
# Below this, one suspension of a large reseller would outlast the job timeout.
MIN_REMOTE_OPS_PER_SECOND = 0.5
MAX_REMOTE_OPS_PER_SECOND = 1000.0

ENFORCEMENT_DEFAULTS: dict[str, str] = {
    RESELLER_GRACE_PERCENT_KEY: str(DEFAULT_GRACE_PERCENT),
    RESELLER_GRACE_BYTES_KEY: str(DEFAULT_GRACE_BYTES),
    CONFIG_GRACE_PERCENT_KEY: str(DEFAULT_GRACE_PERCENT),
    CONFIG_GRACE_BYTES_KEY: str(DEFAULT_GRACE_BYTES),
    ALLOW_CONFIG_OVERRUN_KEY: "true",
    REMOTE_OPS_PER_SECOND_KEY: str(int(DEFAULT_REMOTE_OPS_PER_SECOND)),
}

_DECIMAL = re.compile(r"[0-9]+(\.[0-9]+)?")
_WHOLE = re.compile(r"[0-9]+")
_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off")


def effective_limit(limit_bytes: int, grace_percent: Decimal, grace_bytes: int) -> int:
    """Return limit + max(limit × grace_percent / 100, grace_bytes), in whole bytes (percent part rounded down)."""
    by_percent = int((Decimal(limit_bytes) * grace_percent / 100).to_integral_value(rounding=ROUND_FLOOR))
    return limit_bytes + max(by_percent, grace_bytes)


def is_over_limit(used_bytes: int, limit_bytes: int, grace_percent: Decimal, grace_bytes: int) -> bool:
    """True when usage is at or over the effective limit."""
    return used_bytes >= effective_limit(limit_bytes, grace_percent, grace_bytes)


@dataclass(frozen=True)
class EnforcementSettings:
    reseller_grace_percent: Decimal = DEFAULT_GRACE_PERCENT
    reseller_grace_bytes: int = DEFAULT_GRACE_BYTES
    config_grace_percent: Decimal = DEFAULT_GRACE_PERCENT
    config_grace_bytes: int = DEFAULT_GRACE_BYTES
    allow_config_overrun: bool = DEFAULT_ALLOW_CONFIG_OVERRUN
    remote_ops_per_second: float = DEFAULT_REMOTE_OPS_PER_SECOND


def _warn(setting: SettingValue, expected: str, default) -> None:
    logger.warning("Setting %s has invalid value %r (from %s): expected %s; using the default %s",
                   setting.key, setting.raw, setting.source, expected, default)


def _percent(store: SettingsStore, key: str) -> Decimal:
    setting = store.lookup(key)
    if setting.raw is None:
        return DEFAULT_GRACE_PERCENT
    text = setting.raw.strip()
    if not _DECIMAL.fullmatch(text) or len(text) > 20 or Decimal(text) > MAX_GRACE_PERCENT:
        _warn(setting, f"a percentage from 0 to {MAX_GRACE_PERCENT}", DEFAULT_GRACE_PERCENT)
        return DEFAULT_GRACE_PERCENT
    return Decimal(text)


def _bytes(store: SettingsStore, key: str) -> int:
    setting = store.lookup(key)
    if setting.raw is None:
        return DEFAULT_GRACE_BYTES
    text = setting.raw.strip()
    if not _WHOLE.fullmatch(text) or len(text) > 19 or int(text) > MAX_BYTES:
        _warn(setting, "a whole number of bytes", DEFAULT_GRACE_BYTES)
        return DEFAULT_GRACE_BYTES
    return int(text)


def _flag(store: SettingsStore, key: str) -> bool:
    setting = store.lookup(key)
    if setting.raw is None:
        return DEFAULT_ALLOW_CONFIG_OVERRUN
    text = setting.raw.strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    _warn(setting, "true or false", "true")
    return DEFAULT_ALLOW_CONFIG_OVERRUN


def _rate(store: SettingsStore, key: str) -> float:
    setting = store.lookup(key)
    if setting.raw is None:
        return DEFAULT_REMOTE_OPS_PER_SECOND
    text = setting.raw.strip()
    valid = _DECIMAL.fullmatch(text) and len(text) <= 20
    if not valid or not MIN_REMOTE_OPS_PER_SECOND <= float(text) <= MAX_REMOTE_OPS_PER_SECOND:
        _warn(setting, f"operations a second from {MIN_REMOTE_OPS_PER_SECOND:g} to {MAX_REMOTE_OPS_PER_SECOND:g}",
              DEFAULT_REMOTE_OPS_PER_SECOND)
        return DEFAULT_REMOTE_OPS_PER_SECOND
    return float(text)


def load_enforcement_settings(store: SettingsStore) -> EnforcementSettings:
    """Read every enforcement setting through its layers; invalid values fall back with a warning."""
    return EnforcementSettings(
        reseller_grace_percent=_percent(store, RESELLER_GRACE_PERCENT_KEY),
        reseller_grace_bytes=_bytes(store, RESELLER_GRACE_BYTES_KEY),
        config_grace_percent=_percent(store, CONFIG_GRACE_PERCENT_KEY),
        config_grace_bytes=_bytes(store, CONFIG_GRACE_BYTES_KEY),
        allow_config_overrun=_flag(store, ALLOW_CONFIG_OVERRUN_KEY),
        remote_ops_per_second=_rate(store, REMOTE_OPS_PER_SECOND_KEY),
    )
