"""The effective interval: clamping, fallback, layers and the modulo rule."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta, timezone

import pytest

from jobs.tick import is_due
from models import Setting
from worker.settings_store import INTERVAL_KEY, OVERRIDE_HASH_KEY, SettingsStore

CLAMPING_TABLE = [
    ("0", 1),
    ("-10", 1),
    ("10", 5),
    ("100", 5),
    ("1", 1),
    ("2", 2),
    ("3", 3),
    ("4", 4),
    ("5", 5),
    (" 3 ", 3),
    ("9" * 25, 5),
    ("-" + "9" * 5000, 1),
]
FALLBACK_TABLE = ["abc", "", "2.5", "   ", "3 minutes", "0x3"]


@pytest.mark.parametrize(("raw", "expected"), CLAMPING_TABLE)
def test_interval_clamps_integers(db, any_redis, raw, expected):
    Setting.set_value(INTERVAL_KEY, raw)

    interval, _ = SettingsStore(any_redis).interval_minutes()

    assert interval == expected


@pytest.mark.parametrize("raw", FALLBACK_TABLE)
def test_interval_invalid_falls_back_with_warning(db, any_redis, caplog, raw):
    Setting.set_value(INTERVAL_KEY, raw)

    with caplog.at_level(logging.WARNING):
        interval, _ = SettingsStore(any_redis).interval_minutes()

    assert interval == 5
    assert repr(raw) in caplog.text


def test_interval_default_is_five(db, any_redis):
    interval, setting = SettingsStore(any_redis).interval_minutes()

    assert interval == 5
    assert setting.source == "default"


def test_redis_override_wins_and_hdel_reverts(db, real_redis):
    Setting.set_value(INTERVAL_KEY, "2")
    store = SettingsStore(real_redis)

    real_redis.hset(OVERRIDE_HASH_KEY, INTERVAL_KEY, "1")
    assert store.interval_minutes()[0] == 1
    assert store.interval_minutes()[1].source == "redis"

    real_redis.hdel(OVERRIDE_HASH_KEY, INTERVAL_KEY)
    assert store.interval_minutes()[0] == 2
    assert store.interval_minutes()[1].source == "database"


def test_change_applies_without_restart(db, real_redis):
    store = SettingsStore(real_redis)
    assert store.interval_minutes()[0] == 5

    Setting.set_value(INTERVAL_KEY, "3")

    assert store.interval_minutes()[0] == 3


def test_set_value_upserts_one_row(db):
    Setting.set_value("some.key", "a")
    Setting.set_value("some.key", "b")

    assert Setting.get("some.key") == "b"
    assert Setting.select().count() == 1


def test_setting_get_returns_default_when_missing(db):
    assert Setting.get("missing.key", "fallback") == "fallback"


@pytest.mark.parametrize("interval", [1, 2, 3, 4, 5])
def test_modulo_rule_over_an_hour(interval):
    start = datetime(2026, 3, 1, 10, 0, tzinfo=timezone.utc)
    due_minutes = [minute for minute in range(60) if is_due(start + timedelta(minutes=minute), interval)]

    assert due_minutes == list(range(0, 60, interval))
    assert len(due_minutes) == 60 // interval
