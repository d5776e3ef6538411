"""Running the planned disable and enable calls: panels in parallel, each at its own rate."""

from __future__ import annotations

import logging
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from usage.client_pool import ClientPool
from usage.enforcement import DISABLE, ConfigAction

logger = logging.getLogger(__name__)

MAX_PANEL_THREADS = 32

# Module attributes so tests can move time instead of sleeping.
monotonic: Callable[[], float] = time.monotonic
sleep: Callable[[float], None] = time.sleep


@dataclass(frozen=True)
class RemoteResult:
    success: bool
    error: str | None = None


class RateLimiter:
    """Spaces calls at least 1/rate seconds apart (one panel's limiter; thread-safe)."""

    def __init__(self, per_second: float):
        self.interval = 1.0 / per_second
        self._next_at = 0.0
        self._lock = threading.Lock()

    def wait(self) -> None:
        with self._lock:
            now = monotonic()
            start = max(now, self._next_at)
            self._next_at = start + self.interval
        if start > now:
            sleep(start - now)


def _run_one(pool: ClientPool, action: ConfigAction) -> RemoteResult:
    try:
        client = pool.client(action.panel_id)
        if action.operation == DISABLE:
            client.disable_user(action.username)
        else:
            client.enable_user(action.username)
    except Exception as error:  # noqa: BLE001 - a failed call becomes a pending operation, retried next run
        message = f"{type(error).__name__}: {error}"
        logger.warning("Panel %s: %s of user %r (config %s) failed: %s", action.panel_id, action.operation,
                       action.username, action.config_id, message,
                       extra={"panel_id": action.panel_id, "config_id": action.config_id})
        return RemoteResult(False, message)
    logger.info("Panel %s: %sd user %r (config %s)", action.panel_id, action.operation, action.username,
                action.config_id, extra={"panel_id": action.panel_id, "config_id": action.config_id})
    return RemoteResult(True)


def _run_panel(pool: ClientPool, actions: list[ConfigAction], per_second: float) -> dict[int, RemoteResult]:
    limiter = RateLimiter(per_second)
    results = {}
    for action in actions:
        limiter.wait()
        results[action.config_id] = _run_one(pool, action)
    return results


def run_remote_operations(pool: ClientPool, actions: list[ConfigAction], per_second: float) -> dict[int, RemoteResult]:
    """Run every action; return each config's result. Panels run in parallel, so a slow one delays only itself."""
    by_panel: dict[int, list[ConfigAction]] = defaultdict(list)
    for action in actions:
        by_panel[action.panel_id].append(action)
    results: dict[int, RemoteResult] = {}
    if not by_panel:
        return results
    executor = ThreadPoolExecutor(max_workers=min(len(by_panel), MAX_PANEL_THREADS), thread_name_prefix="panel-ops")
    try:
        futures = [executor.submit(_run_panel, pool, panel_actions, per_second)
                   for panel_actions in by_panel.values()]
        for future in futures:
            results.update(future.result())
    except BaseException:
        # SIGTERM in the work horse raises here: stop waiting for the panels, so the attempt
        # fails (and releases the lock) before the platform's stop grace runs out. Calls not
        # yet made stay pending in the database and are retried by the next run.
        executor.shutdown(wait=False, cancel_futures=True)
        raise
    executor.shutdown(wait=True)
    return results
