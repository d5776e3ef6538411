"""One measured sync, run in its own process so that its peak RSS is the sync's alone.

`python -m bench.sync_child --database-url URL --redis-url URL` takes the
sync lock as a dispatch would, runs `jobs.sync_reseller_usage.run_inline`
and prints one JSON object on stdout: wall time, peak RSS, the summary and
the SQL statements sent. The product logs to stderr, which the parent
sends to the benchmark's log file.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import resource
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from jobs.sync_reseller_usage import run_inline
from models import database_proxy
from models.database import ensure_database
from usage.summary import SyncSummary
from worker.config import Config
from worker.redis_connection import get_redis
from worker.unique_lock import UniqueLock


@dataclass
class StatementCounts:
    """SQL statements sent through the database's cursors; executemany counts each row."""

    statements: int = 0
    executemany_calls: int = 0
    executemany_rows: int = 0


class CountingCursor:
    """A DB-API cursor that counts what is executed on it and delegates everything else."""

    def __init__(self, cursor, counts: StatementCounts):
        self._cursor = cursor
        self._counts = counts

    def execute(self, sql, params=()):
        self._counts.statements += 1
        return self._cursor.execute(sql, params)

    def executemany(self, sql, rows):
        rows = list(rows)
        self._counts.statements += len(rows)
        self._counts.executemany_calls += 1
        self._counts.executemany_rows += len(rows)
        return self._cursor.executemany(sql, rows)

    def __iter__(self):
        return iter(self._cursor)

    def __getattr__(self, name):
        return getattr(self._cursor, name)


def count_statements(database) -> StatementCounts:
    """Count every statement `database` sends from now on.

    peewee 4.5.3 runs every query (BEGIN included) through `Database.cursor()`,
    and the sync's bulk writes call `cursor().executemany` directly, so a
    wrapper around `cursor` counts both.
    """
    counts = StatementCounts()
    original = database.cursor

    def counting_cursor(*args, **kwargs):
        return CountingCursor(original(*args, **kwargs), counts)

    database.cursor = counting_cursor
    return counts


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.sync_child", description=__doc__)
    parser.add_argument("--database-url", required=True, help="the seeded benchmark database")
    parser.add_argument("--redis-url", required=True, help="Redis for the sync lock (the benchmark's database)")
    parser.add_argument("--job-id", default=f"sync-{uuid.uuid4().hex}",
                        help="the job id that takes the lock, so the parent can release it if this process dies")
    parser.add_argument("--log-level", default="INFO", help="the product's log level (default: INFO)")
    parser.add_argument("--profile", help="write cProfile statistics of the sync's main thread to this file")
    return parser.parse_args(argv)


def measure(run: Callable[[], SyncSummary], profile: str | None) -> dict:
    """Call `run` once and return its summary with its wall time, CPU time and the peak RSS."""
    before = resource.getrusage(resource.RUSAGE_SELF)
    profiler = cProfile.Profile() if profile else None
    started = time.perf_counter()
    if profiler is not None:
        profiler.enable()
    summary = run()
    if profiler is not None:
        profiler.disable()
        profiler.dump_stats(profile)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_SELF)
    return {
        "wall_seconds": wall,
        "cpu_seconds": after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime,
        "peak_rss_kib": after.ru_maxrss,
        "rss_before_sync_kib": before.ru_maxrss,
        "summary": summary.to_dict(),
    }


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    config = Config(redis_url=args.redis_url, database_url=args.database_url, queue_connection="sync",
                    log_level=args.log_level.upper())
    ensure_database(config.database_url)
    counts = count_statements(database_proxy.obj)
    connection = get_redis(config)
    if not UniqueLock(connection, config.lock_ttl_seconds).acquire(args.job_id):
        print(json.dumps({"error": "the sync lock is held by another job"}))
        return 1

    figures = measure(lambda: run_inline(args.job_id, connection, config), args.profile)
    figures.update(statements=counts.statements, executemany_calls=counts.executemany_calls,
                   executemany_rows=counts.executemany_rows)
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
