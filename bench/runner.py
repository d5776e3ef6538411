"""One benchmark size: start the panels, seed the database, run two syncs and the per-config strategy."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from bench.per_config import PerConfigResult, run_per_config
from bench.seed import seed_database
from bench.simulated_panels import BenchPanel, SimulatorProcess, plan_panels
from worker.config import Config
from worker.redis_connection import get_redis
from worker.unique_lock import UniqueLock

PROJECT_ROOT = Path(__file__).resolve().parent.parent
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
SIMULATOR_LIFETIME_LIMITS = 4


@dataclass
class SyncFigures:
    """One measured sync, as the child process reported it plus the simulator's view."""

    label: str
    load_before: str
    wall_seconds: float
    cpu_seconds: float
    peak_rss_kib: int
    rss_before_sync_kib: int
    http_requests: int
    simulator_requests: int
    simulator_cpu_seconds: float
    statements: int
    executemany_calls: int
    executemany_rows: int
    configs_synced: int
    configs_failed: int


@dataclass
class SizeResult:
    configs: int
    panels: list[BenchPanel]
    seed_seconds: float
    syncs: list[SyncFigures] = field(default_factory=list)
    per_config: PerConfigResult | None = None
    per_config_requests: int = 0


def load_average() -> str:
    """Return the 1, 5 and 15 minute load averages from /proc/loadavg."""
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def wait_for_quiet(max_load: float, max_wait_seconds: float) -> None:
    """Wait until the 1-minute load average is below `max_load`, or `max_wait_seconds` have passed.

    The benchmark's own previous sync raises the load too, so without this
    pause each measurement would start on a busier machine than the last.
    """
    deadline = time.monotonic() + max_wait_seconds
    while float(load_average().split()[0]) >= max_load and time.monotonic() < deadline:
        time.sleep(5)


def _process_cpu_seconds(pid: int | None) -> float:
    if pid is None:
        return 0.0
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # utime and stime


def _release_lock(redis_url: str, job_id: str) -> None:
    UniqueLock(get_redis(Config(redis_url=redis_url))).release(job_id)


def _run_child(options, log, profile: Path | None) -> dict:
    job_id = f"sync-{uuid.uuid4().hex}"
    command = [sys.executable, "-m", "bench.sync_child", "--database-url", options.database_url,
               "--redis-url", options.redis_url, "--job-id", job_id, "--log-level", options.log_level]
    if profile is not None:
        command += ["--profile", str(profile)]
    log.flush()
    try:
        # subprocess.run kills the child when the time limit passes.
        completed = subprocess.run(command, cwd=PROJECT_ROOT, stdout=subprocess.PIPE, stderr=log, text=True,
                                   timeout=options.time_limit, check=False)
    except subprocess.TimeoutExpired:
        raise SystemExit(f"the sync did not finish within --time-limit {options.time_limit:g} s and was stopped. "
                         "Raise --time-limit or lower --configs.") from None
    finally:
        # A child that died or was killed leaves the lock held until it expires. After a child that
        # finished, the lock is already released and this does nothing.
        _release_lock(options.redis_url, job_id)
    lines = completed.stdout.strip().splitlines()
    if completed.returncode != 0 or not lines:
        raise SystemExit(f"the sync child failed with exit status {completed.returncode}; see {log.name}")
    return json.loads(lines[-1])


def measure_sync(label: str, options, simulator: SimulatorProcess, log, profile: Path | None) -> SyncFigures:
    """Run one sync in a child process and collect its figures and the simulator's counters."""
    wait_for_quiet(options.max_load, options.max_wait)
    simulator.reset_counts()
    load = load_average()
    cpu_before = _process_cpu_seconds(simulator.pid)
    child = _run_child(options, log, profile)
    summary = child["summary"]
    return SyncFigures(
        label=label, load_before=load, wall_seconds=child["wall_seconds"],
        cpu_seconds=child["cpu_seconds"], peak_rss_kib=child["peak_rss_kib"],
        rss_before_sync_kib=child["rss_before_sync_kib"], http_requests=summary["http_requests"],
        simulator_requests=simulator.total_requests(),
        simulator_cpu_seconds=_process_cpu_seconds(simulator.pid) - cpu_before,
        statements=child["statements"], executemany_calls=child["executemany_calls"],
        executemany_rows=child["executemany_rows"], configs_synced=summary["configs_synced"],
        configs_failed=summary["configs_failed"],
    )


def run_size(options, configs: int, log) -> SizeResult:
    """Measure one N: seed, two consecutive syncs, then the per-config strategy on a sample."""
    panels = plan_panels(configs, options.panels, options.panel_types)
    # The simulator has to outlive seeding, both syncs and the per-config sample, and in a run
    # that passes each of them takes less than one time limit.
    lifetime = SIMULATOR_LIFETIME_LIMITS * options.time_limit
    with SimulatorProcess(panels, options.latency_ms / 1000, lifetime) as simulator:
        started = time.perf_counter()
        seed_database(options.database_url, panels, simulator.urls, options.resellers, configs)
        result = SizeResult(configs, panels, time.perf_counter() - started)
        for number in (1, 2):
            profile = options.profile_dir / f"sync-{configs}-{number}.prof" if options.profile_dir else None
            result.syncs.append(measure_sync(f"sync {number}", options, simulator, log, profile))
        if options.per_config_sample > 0:
            wait_for_quiet(options.max_load, options.max_wait)
            simulator.reset_counts()
            result.per_config = run_per_config(panels, simulator.urls, options.per_config_sample)
            result.per_config_requests = simulator.total_requests()
    return result
