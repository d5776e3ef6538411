"""Grace arithmetic and enforcement settings."""

from __future__ import annotations

import logging
from decimal import Decimal

import pytest

from models import Setting
from usage.limits import (DEFAULT_GRACE_BYTES, ENFORCEMENT_DEFAULTS, effective_limit, is_over_limit,
                          load_enforcement_settings)
from worker.settings_store import KNOWN_SETTINGS, SettingsStore

GIB = 1024**3
MIB = 1024**2


def test_grace_by_bytes_when_larger():
    # 2 % of 1 GiB is about 20 MiB, so the 50 MiB floor wins.
    assert effective_limit(1 * GIB, Decimal(2), 50 * MIB) == 1 * GIB + 50 * MIB


def test_grace_by_percent_when_larger():
    # 2 % of 100 GiB is 2 GiB, more than 50 MiB.
    assert effective_limit(100 * GIB, Decimal(2), 50 * MIB) == 102 * GIB


def test_grace_percent_rounds_down():
    assert effective_limit(999, Decimal("2.5"), 0) == 999 + 24


def test_exactly_at_limit_is_over():
    limit = effective_limit(100 * GIB, Decimal(2), 50 * MIB)

    assert is_over_limit(limit, 100 * GIB, Decimal(2), 50 * MIB)


def test_one_byte_under_limit_is_not_over():
    limit = effective_limit(100 * GIB, Decimal(2), 50 * MIB)

    assert not is_over_limit(limit - 1, 100 * GIB, Decimal(2), 50 * MIB)


def test_zero_grace_limit_is_the_quota():
    assert is_over_limit(10, 10, Decimal(0), 0)
    assert not is_over_limit(9, 10, Decimal(0), 0)


def test_known_settings_match_enforcement_defaults():
    for key, value in ENFORCEMENT_DEFAULTS.items():
        assert KNOWN_SETTINGS[key] == value


@pytest.mark.parametrize(("key", "raw"), [
    ("reseller.auto_disable_grace_percent", "-1"),
    ("reseller.auto_disable_grace_percent", "abc"),
    ("reseller.auto_disable_grace_percent", "1e3"),
    ("config.auto_disable_grace_bytes", "50MiB"),
    ("config.auto_disable_grace_bytes", "-5"),
    ("config.auto_disable_grace_bytes", "9" * 30),
    ("reseller.allow_config_overrun", "maybe"),
    ("panel.remote_operations_per_second", "0"),
    ("panel.remote_operations_per_second", "0.0001"),
    ("panel.remote_operations_per_second", "fast"),
])
def test_invalid_setting_falls_back_with_warning(db, real_redis, caplog, key, raw):
    Setting.set_value(key, raw)

    with caplog.at_level(logging.WARNING):
        settings = load_enforcement_settings(SettingsStore(real_redis))

    assert repr(raw) in caplog.text
    assert settings.reseller_grace_percent == Decimal(2)
    assert settings.config_grace_bytes == DEFAULT_GRACE_BYTES
    assert settings.allow_config_overrun is True
    assert settings.remote_ops_per_second == 3.0


def test_valid_settings_are_read(db, real_redis):
    Setting.set_value("reseller.auto_disable_grace_percent", " 5.5 ")
    Setting.set_value("config.auto_disable_grace_bytes", "0")
    Setting.set_value("reseller.allow_config_overrun", "false")
    real_redis.hset("usage-sync:settings", "panel.remote_operations_per_second", "10")

    settings = load_enforcement_settings(SettingsStore(real_redis))

    assert settings.reseller_grace_percent == Decimal("5.5")
    assert settings.config_grace_bytes == 0
    assert settings.allow_config_overrun is False
    assert settings.remote_ops_per_second == 10.0
