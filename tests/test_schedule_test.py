"""`schedule test`: a dry run of the gate's due rule over a range of ticks."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from manage import cli
from models import Setting
from worker.settings_store import INTERVAL_KEY, OVERRIDE_HASH_KEY


def schedule_test(*args: str) -> dict:
    result = CliRunner().invoke(cli, ["schedule", "test", *args, "--json"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


@pytest.mark.parametrize("interval", [1, 2, 3, 4, 5])
def test_schedule_test_hour_per_interval(db, real_redis, config, interval):
    real_redis.hset(OVERRIDE_HASH_KEY, INTERVAL_KEY, str(interval))

    data = schedule_test("--from", "2026-03-01T10:00Z", "--minutes", "60")

    expected = [f"2026-03-01T10:{minute:02d}Z" for minute in range(0, 60, interval)]
    assert data["interval_minutes"] == interval
    assert data["interval_source"] == "redis"
    assert data["dispatches"] == expected
    assert data["dispatch_count"] == 60 // interval
    assert data["to"] == "2026-03-01T10:59Z"


def test_schedule_test_change_between_runs(db, real_redis, config):
    before = schedule_test("--from", "2026-03-01T10:00", "--minutes", "60")
    real_redis.hset(OVERRIDE_HASH_KEY, INTERVAL_KEY, "2")
    overridden = schedule_test("--from", "2026-03-01T10:00", "--minutes", "60")
    real_redis.hdel(OVERRIDE_HASH_KEY, INTERVAL_KEY)
    Setting.set_value(INTERVAL_KEY, "3")
    from_table = schedule_test("--from", "2026-03-01T10:00", "--minutes", "60")

    assert (before["interval_minutes"], before["interval_source"], before["dispatch_count"]) == (5, "default", 12)
    assert (overridden["interval_minutes"], overridden["interval_source"], overridden["dispatch_count"]) == (
        2, "redis", 30)
    assert (from_table["interval_minutes"], from_table["interval_source"], from_table["dispatch_count"]) == (
        3, "database", 20)


def test_schedule_test_uses_gate_clamping(db, real_redis, config):
    real_redis.hset(OVERRIDE_HASH_KEY, INTERVAL_KEY, " 9 ")

    data = schedule_test("--from", "2026-03-01T10:00Z", "--minutes", "10")

    assert data["interval_minutes"] == 5
    assert data["interval_raw"] == " 9 "
    assert data["dispatches"] == ["2026-03-01T10:00Z", "2026-03-01T10:05Z"]


def test_schedule_test_odd_start_and_offset(db, real_redis, config):
    # 11:58 to 12:07 crosses an hour; the rule looks only at the minute of the hour.
    data = schedule_test("--from", "2026-03-01T13:58:30+02:00", "--minutes", "10")

    assert data["from"] == "2026-03-01T11:58Z"
    assert data["dispatches"] == ["2026-03-01T12:00Z", "2026-03-01T12:05Z"]


def test_schedule_test_touches_no_queue_or_claim(db, real_redis, config):
    real_redis.hset(OVERRIDE_HASH_KEY, INTERVAL_KEY, "1")
    keys_before = sorted(real_redis.keys("*"))

    data = schedule_test("--from", "2026-03-01T10:00Z", "--minutes", "30")

    assert data["dispatch_count"] == 30
    assert sorted(real_redis.keys("*")) == keys_before


def test_schedule_test_text_output(db, real_redis, config):
    result = CliRunner().invoke(cli, ["schedule", "test", "--from", "2026-03-01T10:00", "--minutes", "6"])

    assert result.exit_code == 0, result.output
    assert "2026-03-01T10:00Z  dispatch" in result.stdout
    assert "2026-03-01T10:05Z  dispatch" in result.stdout
    assert "2 of 6 ticks dispatch SyncResellerUsageJob" in result.stdout


def test_schedule_test_rejects_bad_from(db, real_redis, config):
    result = CliRunner().invoke(cli, ["schedule", "test", "--from", "yesterday"])

    assert result.exit_code == 2
    assert "Invalid tick time 'yesterday'" in result.output


def test_schedule_test_rejects_zero_minutes(db, real_redis, config):
    result = CliRunner().invoke(cli, ["schedule", "test", "--minutes", "0"])

    assert result.exit_code == 2
    assert "--minutes" in result.output
