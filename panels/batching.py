"""Splitting a bulk read into requests and running them on a few threads."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from panels.base import UserUsage
from panels.http import PanelConnectionError
from worker.errors import PanelAuthError, PanelError

logger = logging.getLogger(__name__)

T = TypeVar("T")
Batch = TypeVar("Batch")
UsageResult = dict[str, UserUsage | PanelError]


def unique(names: Iterable[str]) -> list[str]:
    """Return `names` without repeats, in their first order."""
    return list(dict.fromkeys(names))


def chunked(items: Sequence[T], size: int) -> list[list[T]]:
    """Split `items` into lists of at most `size` items."""
    return [list(items[start:start + size]) for start in range(0, len(items), size)]


def iter_batches(
    batches: Sequence[Batch],
    fetch: Callable[[Batch], UsageResult],
    names_of: Callable[[Batch], Iterable[str]],
    workers: int,
    panel_id: int | None,
) -> Iterator[UsageResult]:
    """Run `fetch` for each batch on up to `workers` threads and yield each batch's result, in order.

    A PanelError from one batch becomes the result of each user in that
    batch. A PanelConnectionError also skips the batches not yet started,
    because a panel that cannot be reached would fail them all after the
    same retries. PanelAuthError is raised: no user can be read without a
    login.
    """
    stop = threading.Event()
    first_connection_error: list[PanelConnectionError] = []

    def run_one(batch: Batch) -> UsageResult:
        names = list(names_of(batch))
        if stop.is_set():
            return dict.fromkeys(names, first_connection_error[0])
        try:
            return fetch(batch)
        except PanelAuthError:
            stop.set()
            raise
        except PanelConnectionError as exc:
            if not stop.is_set():
                first_connection_error.append(exc)
                stop.set()
            logger.warning("panel %s: batch of %d users not read: %s", panel_id, len(names), exc)
            return dict.fromkeys(names, exc)
        except PanelError as exc:
            logger.warning("panel %s: batch of %d users not read: %s", panel_id, len(names), exc)
            return dict.fromkeys(names, exc)

    if workers <= 1 or len(batches) <= 1:
        for batch in batches:
            yield run_one(batch)
        return
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix=f"panel-{panel_id}") as pool:
        yield from pool.map(run_one, batches)


def merged(parts: Iterable[UsageResult]) -> UsageResult:
    """Merge the parts that `iter_batches` yields into one result."""
    results: UsageResult = {}
    for part in parts:
        results.update(part)
    return results
