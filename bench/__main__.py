"""Benchmark one full usage sync against simulated panels: python -m bench.

Each size N starts P simulated panels (in a separate process) with a fixed
latency a request, seeds a fresh database with R resellers and N configs,
and runs two consecutive syncs through `jobs.sync_reseller_usage.run_inline`,
each in its own child process. It then times the per-config strategy (log
in, read one user, for each config) on a sample against the same panels.
The gate, a not-due tick and a skipped dispatch are timed once at the end.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from bench.gate_timing import time_gate_paths
from bench.report import check_targets, linear_fit, print_size, print_timings
from bench.runner import PROJECT_ROOT, load_average, run_size
from bench.simulated_panels import PANEL_KINDS

DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/14"
DEFAULT_WORK_DIR = PROJECT_ROOT / "var" / "bench"


def _sizes(text: str) -> list[int]:
    sizes = [int(part.replace("_", "")) for part in text.split(",") if part.strip()]
    if not sizes or min(sizes) < 1:
        raise argparse.ArgumentTypeError(f"expected positive whole numbers separated by commas, got {text!r}")
    return sizes


def _panel_types(text: str) -> list[str]:
    kinds = [part.strip() for part in text.split(",") if part.strip()]
    unknown = [kind for kind in kinds if kind not in PANEL_KINDS]
    if not kinds or unknown:
        raise argparse.ArgumentTypeError(f"unknown panel types {unknown}; expected some of {sorted(PANEL_KINDS)}")
    return kinds


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--configs", type=_sizes, default=[10_000, 100_000],
                        help="N, the configs to sync; several sizes separated by commas (default: 10000,100000)")
    parser.add_argument("--panels", type=int, default=10, help="P, simulated panels (default: 10)")
    parser.add_argument("--resellers", type=int, default=1000, help="R, resellers (default: 1000)")
    parser.add_argument("--latency-ms", type=float, default=20.0,
                        help="L, milliseconds each simulated panel waits before it responds to a request (default: 20)")
    parser.add_argument("--panel-types", type=_panel_types, default=["marzban", "marzneshin", "xui"],
                        help="panel types, assigned to the panels in turn; xui is 3x-ui 3.2 and xui-v2 is 3x-ui "
                             "2.9.4 (default: marzban,marzneshin,xui)")

    parser.add_argument("--database-url",
                        help="an empty database for a single size (default: a new SQLite file in --work-dir "
                             "for each size, deleted afterwards)")
    parser.add_argument("--redis-url", default=DEFAULT_REDIS_URL,
                        help=f"Redis database for the sync lock and the gate's keys (default: {DEFAULT_REDIS_URL})")

    parser.add_argument("--per-config-sample", type=int, default=200,
                        help="configs read by the per-config strategy; 0 skips it (default: 200)")
    parser.add_argument("--gate-calls", type=int, default=50, help="timed calls of each gate path; 0 skips them")

    parser.add_argument("--work-dir", type=Path, default=DEFAULT_WORK_DIR,
                        help=f"SQLite files and the product's log (default: {DEFAULT_WORK_DIR})")
    parser.add_argument("--profile-dir", type=Path, help="write cProfile statistics of each sync's main thread here")
    parser.add_argument("--log-level", default="INFO", help="the product's log level in the sync (default: INFO)")
    parser.add_argument("--max-load", type=float, default=1.0,
                        help="before each measurement, wait until the 1-minute load average is below this "
                             "(default: 1.0)")
    parser.add_argument("--max-wait", type=float, default=180.0,
                        help="maximum wait in seconds for --max-load; the run then goes on and prints the load "
                             "(default: 180)")
    parser.add_argument("--time-limit", type=float, default=600.0,
                        help="seconds after which a sync child is stopped; the simulator stops by itself after "
                             "four times this (default: 600)")
    return parser


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.database_url and len(args.configs) > 1:
        parser.error("--database-url takes a single --configs size, because each size needs an empty database")
    if args.panels < 1 or args.resellers < 1:
        parser.error("--panels and --resellers must be at least 1")
    return args


def _sqlite_files(path: Path) -> list[Path]:
    return [path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")]


def _remove(files: list[Path]) -> None:
    for file in files:
        file.unlink(missing_ok=True)


def main(argv: list[str] | None = None) -> int:
    options = parse_args(argv)
    options.work_dir.mkdir(parents=True, exist_ok=True)
    if options.profile_dir:
        options.profile_dir.mkdir(parents=True, exist_ok=True)

    explicit_url = options.database_url
    log_path = options.work_dir / "bench.log"
    print(f"P={options.panels} R={options.resellers} L={options.latency_ms:g} ms "
          f"types={','.join(options.panel_types)}; load {load_average()}; product log: {log_path}", flush=True)

    results = []
    with log_path.open("a", encoding="utf-8") as log:
        for configs in options.configs:
            database_file = options.work_dir / f"bench-{configs}.sqlite3"
            files = [] if explicit_url else _sqlite_files(database_file)
            _remove(files)
            options.database_url = explicit_url or f"sqlite:///{database_file}"
            try:
                result = run_size(options, configs, log)
                print_size(result)
                results.append(result)
                if options.gate_calls > 0 and len(results) == 1:
                    print("Gate timings (lock held):")
                    print_timings(time_gate_paths(options.redis_url, options.database_url, options.gate_calls))
                    print(flush=True)
            finally:
                _remove(files)

    fit = linear_fit(results)
    if fit is not None:
        print(f"Linear fit: {fit}")
    print("Targets:")
    for line in check_targets(results):
        print(f"  {line}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
