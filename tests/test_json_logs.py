"""LOG_FORMAT=json: one JSON object a line with the ids as fields; every gate skip logged once."""

from __future__ import annotations

import io
import json
import logging
import subprocess
import sys
import threading
from datetime import datetime, timezone

import pytest
from rq import Queue

from jobs import gate
from jobs.gate import evaluate_tick
from jobs.sync_reseller_usage import execute
from scheduler import enqueue_gate
from tests.conftest import PROJECT_ROOT
from tests.factories import make_config, make_panel, make_reseller
from tests.servers import free_port
from tests.workers import run_burst_worker
from worker.logging_setup import ContextFilter, JsonFormatter, log_context
from worker.settings_store import INTERVAL_KEY, OVERRIDE_HASH_KEY
from worker.unique_lock import UniqueLock

logger = logging.getLogger(__name__)


def json_lines(text: str) -> list[dict]:
    """Parse every non-empty line; a line that is not JSON fails the test with the line shown."""
    entries = []
    for line in text.splitlines():
        if not line.strip():
            continue
        try:
            entries.append(json.loads(line))
        except json.JSONDecodeError:
            pytest.fail(f"log line is not JSON: {line!r}")
    return entries


def with_message(entries: list[dict], text: str) -> list[dict]:
    return [entry for entry in entries if text in entry["message"]]


@pytest.fixture
def json_log():
    """Capture root-logger records as the JSON handler formats them; yields a function returning the entries."""
    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(ContextFilter())
    root = logging.getLogger()
    previous_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    yield lambda: json_lines(buffer.getvalue())
    root.removeHandler(handler)
    root.setLevel(previous_level)


def test_formatter_carries_panel_and_config_ids(json_log):
    logger.warning("Panel %s: disable failed", 7, extra={"panel_id": 7, "config_id": 42, "reseller_id": 3})

    entry = json_log()[-1]
    assert entry["message"] == "Panel 7: disable failed"
    assert entry["level"] == "WARNING"
    assert (entry["panel_id"], entry["config_id"], entry["reseller_id"]) == (7, 42, 3)
    assert "job_id" not in entry


def test_log_context_reaches_child_threads(json_log):
    with log_context(job_id="sync-abc", tick="2026-03-01T10:10:00Z"):
        logger.info("in the job")
        thread = threading.Thread(target=logger.info, args=("in a thread the job started",))
        thread.start()
        thread.join()
    logger.info("after the job")

    entries = json_log()
    assert entries[0]["job_id"] == "sync-abc"
    assert entries[1]["job_id"] == "sync-abc"
    assert entries[1]["tick"] == "2026-03-01T10:10:00Z"
    assert "job_id" not in entries[2]


def test_sync_run_lines_are_json_with_ids(db, real_redis, subprocess_env):
    reseller = make_reseller(name="json-logs")
    make_reseller(name="second")
    # Nothing listens on this loopback port, so the panel read fails at once.
    panel = make_panel(base_url=f"http://127.0.0.1:{free_port()}")
    make_config(reseller, panel, "user-a")
    env = {**subprocess_env, "LOG_FORMAT": "json", "LOG_LEVEL": "INFO"}

    result = subprocess.run([sys.executable, "manage.py", "sync", "run"], cwd=PROJECT_ROOT, env=env,
                            capture_output=True, text=True, timeout=120)

    assert result.returncode == 0, result.stderr
    entries = json_lines(result.stderr)
    job_ids = {entry.get("job_id") for entry in entries}
    assert len(job_ids) == 1
    assert job_ids.pop().startswith("inline-")
    reseller_lines = with_message(entries, "Syncing usage for reseller")
    assert [entry["reseller_id"] for entry in reseller_lines] == [reseller.id, reseller.id + 1]
    panel_lines = with_message(entries, "could not be read")
    assert [entry["panel_id"] for entry in panel_lines] == [panel.id]


def test_worker_lines_carry_gate_and_sync_ids(db, real_redis, subprocess_env):
    make_reseller()
    real_redis.hset(OVERRIDE_HASH_KEY, INTERVAL_KEY, "1")
    gate_job = enqueue_gate(Queue("default", connection=real_redis), datetime.now(timezone.utc), 90)
    env = {**subprocess_env, "LOG_FORMAT": "json", "LOG_LEVEL": "INFO"}

    worker = run_burst_worker(env)

    assert worker.returncode == 0, worker.stderr[-4000:]
    entries = json_lines(worker.stdout) + json_lines(worker.stderr)
    scheduling = with_message(entries, "Scheduling SyncResellerUsageJob")
    starting = with_message(entries, "Starting reseller usage sync")
    assert len(scheduling) == 1
    assert len(starting) == 1
    assert scheduling[0]["job_id"] == gate_job.id
    assert starting[0]["job_id"].startswith("sync-")
    assert starting[0]["tick"] == scheduling[0]["tick"]
    assert with_message(entries, "Syncing usage for reseller")[0]["job_id"] == starting[0]["job_id"]


@pytest.fixture
def frozen_clock(monkeypatch):
    def set_now(text: str) -> None:
        moment = datetime.fromisoformat(text).replace(tzinfo=timezone.utc).timestamp()
        monkeypatch.setattr(gate, "clock", lambda: moment)

    return set_now


def test_skip_lock_held_logged_once(db, real_redis, config, frozen_clock, json_log):
    frozen_clock("2026-03-01T10:10:05")
    UniqueLock(real_redis, 300).acquire("sync-holder")

    outcome = evaluate_tick("2026-03-01T10:10:00Z", real_redis, config)

    skips = with_message(json_log(), "dispatch skipped")
    assert outcome.outcome == "already queued or running"
    assert len(skips) == 1
    assert "already queued or running (job sync-holder, lock expires in" in skips[0]["message"]
    assert skips[0]["tick"] == "2026-03-01T10:10:00Z"


def test_skip_tick_handled_logged_once(db, real_redis, config, frozen_clock, json_log):
    frozen_clock("2026-03-01T10:11:05")
    evaluate_tick("2026-03-01T10:11:00Z", real_redis, config)

    evaluate_tick("2026-03-01T10:11:00Z", real_redis, config)

    skips = with_message(json_log(), "tick already handled")
    assert len(skips) == 1
    assert skips[0]["tick"] == "2026-03-01T10:11:00Z"


def test_skip_stale_tick_logged_once(db, real_redis, config, frozen_clock, json_log):
    frozen_clock("2026-03-01T10:20:00")

    evaluate_tick("2026-03-01T10:10:00Z", real_redis, config)

    skips = with_message(json_log(), "dropped")
    assert len(skips) == 1
    assert "600 s old, older than its 90 s time-to-live" in skips[0]["message"]


def test_skip_not_due_logged_once_at_debug(db, real_redis, config, frozen_clock, json_log):
    frozen_clock("2026-03-01T10:11:05")

    evaluate_tick("2026-03-01T10:11:00Z", real_redis, config)

    skips = with_message(json_log(), "not due")
    assert [entry["level"] for entry in skips] == ["DEBUG"]
    assert "interval: 5 minutes" in skips[0]["message"]


def test_skip_job_without_lock_logged_once(db, real_redis, config, json_log):
    UniqueLock(real_redis, 300).acquire("sync-other")

    result = execute("sync-stale-retry", real_redis, config, attempt=1)

    skips = with_message(json_log(), "does not own the sync lock")
    assert result["skipped"] is True
    assert len(skips) == 1
    assert skips[0]["job_id"] == "sync-stale-retry"
    assert "held by sync-other" in skips[0]["message"]
