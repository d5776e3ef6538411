"""The minute gate: tick claim, due rule on the tick's own minute, staleness, dispatch."""

from __future__ import annotations

import logging
from datetime import datetime, timezone

import pytest
from rq import Queue

from jobs import gate
from jobs.gate import evaluate_tick
from models import Setting
from worker.settings_store import INTERVAL_KEY, OVERRIDE_HASH_KEY
from worker.unique_lock import LOCK_KEY, UniqueLock


def at(text: str) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=timezone.utc).timestamp()


@pytest.fixture
def frozen_clock(monkeypatch):
    def set_now(text: str) -> None:
        monkeypatch.setattr(gate, "clock", lambda: at(text))

    return set_now


def test_gate_due_tick_dispatches(db, real_redis, config, frozen_clock, caplog):
    frozen_clock("2026-03-01T10:10:05")

    with caplog.at_level(logging.INFO):
        outcome = evaluate_tick("2026-03-01T10:10:00Z", real_redis, config)

    assert outcome.outcome == "dispatched"
    assert "Scheduling SyncResellerUsageJob (interval: 5 minutes)" in caplog.text
    assert Queue("default", connection=real_redis).get_job_ids() == [outcome.job_id]


def test_gate_uses_tick_minute_not_clock(db, real_redis, config, frozen_clock):
    frozen_clock("2026-03-01T10:11:02")

    outcome = evaluate_tick("2026-03-01T10:10:00Z", real_redis, config)

    assert outcome.outcome == "dispatched"


def test_gate_not_due_logs_debug_only(db, real_redis, config, frozen_clock, caplog):
    frozen_clock("2026-03-01T10:11:01")

    with caplog.at_level(logging.DEBUG):
        outcome = evaluate_tick("2026-03-01T10:11:00Z", real_redis, config)

    assert outcome.outcome == "not due"
    assert [record.levelname for record in caplog.records if "not due" in record.getMessage()] == ["DEBUG"]
    assert not real_redis.exists(LOCK_KEY)


def test_gate_drops_stale_tick(db, real_redis, config, frozen_clock):
    frozen_clock("2026-03-01T10:11:31")

    outcome = evaluate_tick("2026-03-01T10:10:00Z", real_redis, config)

    assert outcome.outcome == "stale tick"
    assert not real_redis.exists(LOCK_KEY)


def test_gate_forced_runs_old_tick(db, real_redis, config, frozen_clock):
    frozen_clock("2026-03-05T00:00:00")

    outcome = evaluate_tick("2026-03-01T10:10:00Z", real_redis, config, force=True)

    assert outcome.outcome == "dispatched"


def test_gate_second_run_same_tick_is_skipped(db, real_redis, config, frozen_clock):
    frozen_clock("2026-03-01T10:10:01")
    evaluate_tick("2026-03-01T10:10:00Z", real_redis, config)

    outcome = evaluate_tick("2026-03-01T10:10:30Z", real_redis, config)

    assert outcome.outcome == "tick already handled"
    assert Queue("default", connection=real_redis).count == 1


def test_gate_skips_when_lock_held(db, real_redis, config, frozen_clock, caplog):
    frozen_clock("2026-03-01T10:10:01")
    UniqueLock(real_redis).acquire("running-job")

    with caplog.at_level(logging.INFO):
        outcome = evaluate_tick("2026-03-01T10:10:00Z", real_redis, config)

    assert outcome.outcome == "already queued or running"
    assert "running-job" in caplog.text


def test_gate_reads_interval_each_tick(db, real_redis, config, frozen_clock):
    frozen_clock("2026-03-01T10:07:01")
    assert evaluate_tick("2026-03-01T10:07:00Z", real_redis, config).outcome == "not due"

    real_redis.hset(OVERRIDE_HASH_KEY, INTERVAL_KEY, "1")
    frozen_clock("2026-03-01T10:08:01")
    outcome = evaluate_tick("2026-03-01T10:08:00Z", real_redis, config)

    assert outcome.outcome == "dispatched"
    assert outcome.interval == 1
    assert outcome.interval_source == "redis"


def test_gate_interval_from_table(db, real_redis, config, frozen_clock):
    Setting.set_value(INTERVAL_KEY, "2")
    frozen_clock("2026-03-01T10:02:01")

    outcome = evaluate_tick("2026-03-01T10:02:00Z", real_redis, config)

    assert outcome.outcome == "dispatched"
    assert outcome.interval_source == "database"


def test_gate_records_last_tick(db, real_redis, config, frozen_clock):
    frozen_clock("2026-03-01T10:11:01")
    evaluate_tick("2026-03-01T10:11:00Z", real_redis, config)

    last = gate.last_tick(real_redis)

    assert last["tick"] == "2026-03-01T10:11:00Z"
    assert last["outcome"] == "not due"


def test_gate_fifty_concurrent_runs_dispatch_once(db, real_redis, config, frozen_clock):
    from concurrent.futures import ThreadPoolExecutor

    frozen_clock("2026-03-01T10:10:01")
    with ThreadPoolExecutor(max_workers=10) as pool:
        outcomes = list(pool.map(lambda _: evaluate_tick("2026-03-01T10:10:00Z", real_redis, config).outcome,
                                 range(50)))

    assert outcomes.count("dispatched") == 1
    assert outcomes.count("tick already handled") == 49


def test_gate_database_down_uses_default_interval(real_redis, config, frozen_clock, tmp_path, caplog):
    from dataclasses import replace

    broken = tmp_path / "not-a-database"
    broken.mkdir()
    broken_config = replace(config, database_url=f"sqlite:///{broken}")
    frozen_clock("2026-03-01T10:10:01")

    with caplog.at_level(logging.ERROR):
        outcome = evaluate_tick("2026-03-01T10:10:00Z", real_redis, broken_config)

    assert outcome.outcome == "dispatched"
    assert outcome.interval == 5
    assert "settings table unreadable" in caplog.text


def test_gate_database_down_honours_redis_override(real_redis, config, frozen_clock, tmp_path):
    from dataclasses import replace

    broken = tmp_path / "not-a-database"
    broken.mkdir()
    broken_config = replace(config, database_url=f"sqlite:///{broken}")
    real_redis.hset(OVERRIDE_HASH_KEY, INTERVAL_KEY, "1")
    frozen_clock("2026-03-01T10:11:01")

    outcome = evaluate_tick("2026-03-01T10:11:00Z", real_redis, broken_config)

    assert outcome.outcome == "dispatched"
    assert outcome.interval_source == "redis"
