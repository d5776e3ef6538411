"""Printing the benchmark's figures and checking them against the targets."""

from __future__ import annotations

from bench.gate_timing import Timing
from bench.runner import SizeResult, SyncFigures

# The targets for a full sync (SQLite, 2 cores, L = 20 ms, P = 10, R = 1,000).
TARGET_WALL_SECONDS_AT_100K = 10.0
TARGET_RSS_MIB_AT_100K = 400
TARGET_SPEEDUP = 100
TARGET_GATE_MS = 5.0

HEADER = (f"{'N':>9} {'sync':<6} {'wall s':>7} {'CPU s':>6} {'RSS MiB':>8} {'HTTP':>6} {'sim HTTP':>8} {'budget':>7} "
          f"{'SQL stmts':>10} {'configs/s':>10} {'x per-config':>12} {'sim CPU s':>9} {'load before':>15}")


def _mib(kib: int) -> float:
    return kib / 1024


def request_budget(configs: int, panels: int) -> int:
    return configs // 50 + 10 * panels


def speedup(result: SizeResult, sync: SyncFigures) -> float | None:
    """Return how many times less wall time a config costs in the bulk sync than in the per-config strategy."""
    if result.per_config is None or sync.wall_seconds <= 0:
        return None
    return result.per_config.seconds_per_config / (sync.wall_seconds / result.configs)


def sync_row(result: SizeResult, sync: SyncFigures) -> str:
    ratio = speedup(result, sync)
    ratio_text = f"{ratio:,.0f}" if ratio is not None else "-"
    budget = request_budget(result.configs, len(result.panels))
    return (f"{result.configs:>9,} {sync.label:<6} {sync.wall_seconds:>7.2f} {sync.cpu_seconds:>6.2f} {_mib(sync.peak_rss_kib):>8.0f} "
            f"{sync.http_requests:>6,} {sync.simulator_requests:>8,} {budget:>7,} {sync.statements:>10,} "
            f"{result.configs / sync.wall_seconds:>10,.0f} {ratio_text:>12} {sync.simulator_cpu_seconds:>9.1f} "
            f"{sync.load_before:>15}")


def print_size(result: SizeResult) -> None:
    print(HEADER)
    for sync in result.syncs:
        print(sync_row(result, sync))
    first = result.syncs[0]
    print(f"  seeding {result.seed_seconds:.1f} s; RSS after imports {_mib(first.rss_before_sync_kib):.0f} MiB; "
          f"synced {first.configs_synced:,}, failed {first.configs_failed:,}; executemany: "
          + ", ".join(f"{sync.label} {sync.executemany_calls:,} calls, {sync.executemany_rows:,} rows"
                      for sync in result.syncs))
    if result.per_config is not None:
        per_config = result.per_config
        print(f"  per-config strategy: {per_config.configs} configs in {per_config.wall_seconds:.2f} s, "
              f"{per_config.seconds_per_config * 1000:.1f} ms a config, "
              f"{result.per_config_requests / per_config.configs:.1f} requests a config")
    print(flush=True)


def print_timings(timings: list[Timing]) -> None:
    for timing in timings:
        verdict = "ok" if timing.max_ms < TARGET_GATE_MS else "OVER TARGET"
        print(f"  {timing.name}: median {timing.median_ms:.2f} ms, max {timing.max_ms:.2f} ms "
              f"over {timing.calls} calls ({verdict}, target < {TARGET_GATE_MS:.0f} ms)")


def check_targets(results: list[SizeResult]) -> list[str]:
    """Return one line per target that the measured sizes can judge."""
    lines = []
    for result in results:
        for sync in result.syncs:
            budget = request_budget(result.configs, len(result.panels))
            lines.append(f"N={result.configs:,} {sync.label}: requests {sync.http_requests:,} <= {budget:,}: "
                         f"{'met' if sync.http_requests <= budget else 'NOT met'}")
            ratio = speedup(result, sync)
            if ratio is not None:
                lines.append(f"N={result.configs:,} {sync.label}: {ratio:,.0f}x faster a config than per-config: "
                             f"{'met' if ratio >= TARGET_SPEEDUP else 'NOT met'}")
            if result.configs == 100_000:
                wall_ok = sync.wall_seconds <= TARGET_WALL_SECONDS_AT_100K
                rss_ok = _mib(sync.peak_rss_kib) <= TARGET_RSS_MIB_AT_100K
                lines.append(f"N=100,000 {sync.label}: wall {sync.wall_seconds:.2f} s <= 10 s: "
                             f"{'met' if wall_ok else 'NOT met'}; RSS {_mib(sync.peak_rss_kib):.0f} MiB <= 400: "
                             f"{'met' if rss_ok else 'NOT met'}")
    return lines


def linear_fit(results: list[SizeResult], budget_seconds: float = 60.0) -> str | None:
    """Fit wall = a + b * N over the steady-state (second) syncs and estimate the N that takes `budget_seconds`."""
    points = [(result.configs, result.syncs[-1].wall_seconds) for result in results]
    if len({configs for configs, _ in points}) < 2:
        return None
    count = len(points)
    mean_n = sum(configs for configs, _ in points) / count
    mean_wall = sum(wall for _, wall in points) / count
    slope = (sum((configs - mean_n) * (wall - mean_wall) for configs, wall in points)
             / sum((configs - mean_n) ** 2 for configs, _ in points))
    intercept = mean_wall - slope * mean_n
    largest = (budget_seconds - intercept) / slope if slope > 0 else float("inf")
    return (f"wall = {intercept:.2f} s + {slope * 1e6:.1f} µs x N over the second syncs; "
            f"{budget_seconds:.0f} s at N = {largest:,.0f} (an extrapolation; run that N to confirm)")
