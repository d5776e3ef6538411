"""Building blocks for the fault tests: a private Redis, worker processes, tick drivers and samplers.

Everything here runs on 127.0.0.1 and is stopped by the fixtures in
`tests/faults/conftest.py`, also when a test fails.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

import redis
from rq import Queue
from rq.job import Job, JobStatus
from rq.registry import StartedJobRegistry

from jobs.gate import evaluate_tick
from tests.conftest import PROJECT_ROOT
from tests.servers import LOOPBACK, free_port
from tests.workers import child_pids, kill_process_tree, wait_for
from worker.config import Config
from worker.unique_lock import LOCK_KEY

REDIS_START_TIMEOUT_SECONDS = 10
WORKER_START_TIMEOUT_SECONDS = 30
# Synthetic ticks start here, one minute apart, so every gate run claims a fresh minute.
FIRST_SYNTHETIC_TICK = datetime(2030, 1, 1, tzinfo=timezone.utc)


class PrivateRedis:
    """A redis-server of our own on a free loopback port, without persistence, that a test may restart."""

    def __init__(self, workdir: Path):
        self.workdir = workdir
        self.port = free_port()
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://{LOOPBACK}:{self.port}/0"

    def client(self) -> redis.Redis:
        return redis.Redis(host=LOOPBACK, port=self.port, socket_connect_timeout=2)

    def start(self) -> PrivateRedis:
        command = ["redis-server", "--port", str(self.port), "--bind", LOOPBACK, "--save", "",
                   "--appendonly", "no", "--dir", str(self.workdir), "--protected-mode", "yes"]
        log = open(self.workdir / "redis.log", "a")
        self.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        log.close()
        probe = self.client()
        try:
            if not wait_for(lambda: _answers(probe), REDIS_START_TIMEOUT_SECONDS, interval=0.02):
                raise AssertionError(f"redis-server on port {self.port} did not answer within "
                                     f"{REDIS_START_TIMEOUT_SECONDS} s: {(self.workdir / 'redis.log').read_text()}")
        finally:
            probe.close()
        return self

    def stop(self) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        self.process = None

    def restart(self) -> None:
        """Stop and start the server on the same port; without persistence every key is lost."""
        self.stop()
        self.start()


def _answers(connection: redis.Redis) -> bool:
    try:
        return bool(connection.ping())
    except redis.RedisError:
        return False


class ProcessGroup:
    """Processes a test started; `stop_all` kills each of them and its children."""

    def __init__(self, log_dir: Path):
        self.log_dir = log_dir
        self.processes: list[subprocess.Popen] = []

    def start(self, command: list[str], env: dict, name: str) -> subprocess.Popen:
        log_path = self.log_dir / f"{name}-{len(self.processes)}.log"
        with open(log_path, "w") as log:
            process = subprocess.Popen(command, cwd=PROJECT_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                                       start_new_session=True)
        process.log_path = log_path
        self.processes.append(process)
        return process

    def start_worker(self, env: dict, *extra: str) -> subprocess.Popen:
        return self.start([sys.executable, "-m", "worker", *extra], env, "worker")

    def stop_all(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                kill_process_tree(process.pid, signal.SIGKILL)
                try:
                    process.wait(10)
                except subprocess.TimeoutExpired:
                    pass


def process_log(process: subprocess.Popen, tail: int = 4000) -> str:
    return Path(process.log_path).read_text(errors="replace")[-tail:]


def wait_for_idle_worker(connection: redis.Redis, process: subprocess.Popen,
                         timeout: float = WORKER_START_TIMEOUT_SECONDS) -> str:
    """Wait until the worker has registered and is listening; return its name."""
    def idle_name() -> str | None:
        if process.poll() is not None:
            raise AssertionError(f"worker exited with {process.returncode}:\n{process_log(process)}")
        for key in connection.smembers("rq:workers"):
            if connection.hget(key, "state") == b"idle" and connection.hget(key, "pid") == str(process.pid).encode():
                return key.decode().removeprefix("rq:worker:")
        return None

    assert wait_for(lambda: idle_name() is not None, timeout, interval=0.05), process_log(process)
    return idle_name()


def horse_pid(worker_pid: int) -> int | None:
    """Return the worker's live work horse, or None.

    RQ 2.12 puts the horse in a process group of its own, and the scheduler
    child is not. A horse that died but was not reaped yet is a zombie and
    does not count.
    """
    for child in child_pids(worker_pid):
        try:
            with open(f"/proc/{child}/stat") as stat:
                state = stat.read().rsplit(")", 1)[1].split()[0]
            if state != "Z" and os.getpgid(child) == child:
                return child
        except (OSError, ProcessLookupError):
            continue
    return None


def lock_holder(connection: redis.Redis) -> str | None:
    value = connection.get(LOCK_KEY)
    return value.decode() if value is not None else None


def job_status(connection: redis.Redis, job_id: str) -> JobStatus | None:
    try:
        return Job.fetch(job_id, connection=connection).get_status(refresh=True)
    except Exception:  # noqa: BLE001 - a job hash that vanished counts as no status
        return None


def started_job_ids(connection: redis.Redis, queue_name: str = "default") -> list[str]:
    registry = StartedJobRegistry(queue_name, connection=connection)
    # Without cleanup, so a job whose worker died stays visible.
    return [member.decode().split(":")[0] for member in connection.zrange(registry.key, 0, -1)]


def queued_job_ids(connection: redis.Redis) -> list[str]:
    return [job_id for name in ("high", "default", "low") for job_id in Queue(name, connection=connection).job_ids]


def sync_job_keys(connection: redis.Redis) -> list[str]:
    """Every SyncResellerUsageJob hash in Redis (dispatches create them, nothing else does)."""
    return sorted(key.decode() for key in connection.scan_iter("rq:job:sync-*") if key.count(b":") == 2)


def parse_stamp(value: str | None) -> datetime | None:
    if value is None:
        return None
    return datetime.fromisoformat(value).replace(tzinfo=timezone.utc)


@dataclass(frozen=True)
class RunRow:
    job_id: str
    attempt: int
    status: str
    started_at: datetime
    finished_at: datetime | None
    error: str | None


def read_runs(db_path: Path) -> list[RunRow]:
    """The `sync_runs` rows in start order, read with a connection of our own (never the models')."""
    with sqlite3.connect(db_path, timeout=10) as connection:
        rows = connection.execute(
            "SELECT job_id, attempt, status, started_at, finished_at, error FROM sync_runs ORDER BY started_at, id"
        ).fetchall()
    return [RunRow(job, attempt, status, parse_stamp(started), parse_stamp(finished), error)
            for job, attempt, status, started, finished, error in rows]


def read_consumed(db_path: Path) -> dict[int, int]:
    """Each config's consumed bytes (usage_bytes + settled_usage_bytes)."""
    with sqlite3.connect(db_path, timeout=10) as connection:
        rows = connection.execute("SELECT id, usage_bytes + settled_usage_bytes FROM reseller_configs").fetchall()
    return dict(rows)


def reseller_mismatches(db_path: Path) -> list[tuple[int, int, int]]:
    """Resellers whose stored total differs from their configs' consumed bytes minus forgiven bytes.

    Returns (reseller id, stored total, expected total) for each.
    """
    with sqlite3.connect(db_path, timeout=10) as connection:
        rows = connection.execute(
            "SELECT r.id, r.traffic_used_bytes, r.admin_forgiven_bytes, "
            "COALESCE(SUM(c.usage_bytes + c.settled_usage_bytes), 0) "
            "FROM resellers r LEFT JOIN reseller_configs c ON c.reseller_id = r.id GROUP BY r.id"
        ).fetchall()
    return [(reseller_id, stored, max(consumed - forgiven, 0))
            for reseller_id, stored, forgiven, consumed in rows if stored != max(consumed - forgiven, 0)]


def overlapping_runs(runs: list[RunRow], ends: dict[tuple[str, int], datetime]) -> list[tuple[RunRow, RunRow]]:
    """Pairs of consecutive runs where the second started before the first ended.

    A run that never finished because its horse was killed ends at the time
    that `ends` gives for its (job id, attempt). A run missing from `ends`
    counts as never ending.
    """
    never = datetime.max.replace(tzinfo=timezone.utc)
    pairs = []
    for earlier, later in zip(runs, runs[1:]):
        end = earlier.finished_at or ends.get((earlier.job_id, earlier.attempt), never)
        if later.started_at < end:
            pairs.append((earlier, later))
    return pairs


class TickDriver:
    """Runs the gate for a new synthetic minute every `period_seconds`, as the scheduler would each minute.

    Every tick is run with `force=True` because the synthetic minutes are not
    the wall clock's; the gate's age check has tests of its own.
    """

    def __init__(self, connection: redis.Redis, config: Config, period_seconds: float):
        self.connection = connection
        self.config = config
        self.period_seconds = period_seconds
        self.outcomes: list[tuple[float, str, str | None]] = []
        self.errors: list[BaseException] = []
        self._minute = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="tick-driver", daemon=True)

    def tick_once(self):
        tick = FIRST_SYNTHETIC_TICK + timedelta(minutes=self._minute)
        self._minute += 1
        outcome = evaluate_tick(tick, self.connection, self.config, force=True)
        self.outcomes.append((time.time(), outcome.outcome, outcome.job_id))
        return outcome

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.tick_once()
            except Exception as error:  # noqa: BLE001 - reported by the test through `errors`
                self.errors.append(error)
            self._stop.wait(self.period_seconds)

    def start(self) -> TickDriver:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=30)


@dataclass
class Sample:
    at: float
    holder: str | None
    ttl: int
    started: list[str]
    consumed: dict[int, int] = field(default_factory=dict)


class Sampler:
    """Samples the lock, the started registry and (optionally) every config's consumed bytes in a thread."""

    def __init__(self, connection: redis.Redis, db_path: Path | None = None, every_seconds: float = 0.05):
        self.connection = connection
        self.db_path = db_path
        self.every_seconds = every_seconds
        self.samples: list[Sample] = []
        self.errors: list[BaseException] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="sampler", daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.samples.append(self._sample())
            except (redis.RedisError, sqlite3.Error) as error:
                self.errors.append(error)
            self._stop.wait(self.every_seconds)

    def _sample(self) -> Sample:
        with self.connection.pipeline() as pipe:
            pipe.get(LOCK_KEY)
            pipe.ttl(LOCK_KEY)
            holder, ttl = pipe.execute()
        sample = Sample(time.time(), holder.decode() if holder else None, ttl, started_job_ids(self.connection))
        if self.db_path is not None:
            sample.consumed = read_consumed(self.db_path)
        return sample

    def start(self) -> Sampler:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=30)

    def decreases(self) -> list[tuple[int, int, int]]:
        """(config id, earlier value, later value) for every drop of a config's consumed bytes."""
        drops = []
        last: dict[int, int] = {}
        for sample in self.samples:
            for config_id, value in sample.consumed.items():
                if config_id in last and value < last[config_id]:
                    drops.append((config_id, last[config_id], value))
                last[config_id] = value
        return drops
