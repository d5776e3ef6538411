"""The real scheduler and worker processes, started from the Procfile by honcho."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from models import SyncRun, database_proxy
from tests.conftest import PROJECT_ROOT
from tests.factories import make_config, make_panel, make_reseller
from tests.workers import wait_for
from worker.settings_store import INTERVAL_KEY, OVERRIDE_HASH_KEY

# The next minute boundary is at most 60 s away, plus a poll and the job itself.
SYNC_DEADLINE_SECONDS = 80


def succeeded_runs() -> int:
    with database_proxy.connection_context():
        return SyncRun.select().where(SyncRun.status == "succeeded").count()


def test_procfile_processes_complete_a_sync(db, real_redis, subprocess_env, tmp_path):
    make_config(make_reseller(), make_panel(), "user-a", usage_bytes=1000)
    database_proxy.close()
    real_redis.hset(OVERRIDE_HASH_KEY, INTERVAL_KEY, "1")
    honcho = Path(sys.executable).with_name("honcho")
    log_path = tmp_path / "honcho.log"
    with open(log_path, "w") as log:
        process = subprocess.Popen([str(honcho), "-f", "Procfile", "start", "scheduler", "worker"],
                                   cwd=PROJECT_ROOT, env=subprocess_env, stdout=log, stderr=subprocess.STDOUT,
                                   start_new_session=True)
        try:
            completed = wait_for(lambda: process.poll() is not None or succeeded_runs() >= 1,
                                 SYNC_DEADLINE_SECONDS, interval=1) and process.poll() is None
        finally:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(30)

    output = log_path.read_text()
    assert completed, output[-4000:]
    assert "Scheduling SyncResellerUsageJob (interval: 1 minutes)" in output
    assert "Starting reseller usage sync" in output
    assert "Reseller usage sync completed" in output
