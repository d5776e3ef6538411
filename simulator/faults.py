"""Faults that a simulated panel can inject into its responses."""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass
from typing import Any

# Whole-response faults; see simulator.server for what each one sends.
RESPONSE_FAULTS = frozenset({
    "error",          # an HTTP 5xx response (status 500 unless given)
    "timeout",        # no response until after `hang_seconds`, then the connection closes
    "endless",        # a 200 body that never ends
    "stalled_body",   # a 200 body that stops after a few bytes for `hang_seconds`
    "huge_body",      # a 100 MiB body, streamed
    "invalid_json",   # a 200 body that is truncated JSON
    "html",           # an HTML error page (status 200 unless given)
    "redirect_loop",  # a 302 that points at the same URL
    "wrong_shape",    # valid JSON of the wrong type: an array of numbers
})

# Per-user counter faults: what the panel sends instead of the used counter.
COUNTER_FAULTS = frozenset({"negative", "string", "float", "huge", "missing", "bool", "null"})


@dataclass
class Fault:
    """A response fault for requests whose path contains `path` (any path when None)."""

    kind: str
    remaining: int | None = None  # requests left to affect; None means until cleared
    path: str | None = None
    status: int | None = None


class FaultPlan:
    """The faults of one panel, plus a random 5xx rate; thread-safe."""

    def __init__(self, error_rate: float = 0.0, seed: int | None = None):
        self.error_rate = error_rate
        self._random = random.Random(seed)
        self._faults: list[Fault] = []
        self._lock = threading.Lock()

    def add(self, kind: str, count: int | None = None, path: str | None = None,
            status: int | None = None) -> None:
        if kind not in RESPONSE_FAULTS:
            raise ValueError(f"unknown fault {kind!r}; expected one of {sorted(RESPONSE_FAULTS)}")
        with self._lock:
            self._faults.append(Fault(kind, count, path, status))

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def take(self, path: str) -> Fault | None:
        """Return the fault for a request to `path`, using up one of its count."""
        with self._lock:
            for fault in self._faults:
                if fault.path is not None and fault.path not in path:
                    continue
                if fault.remaining is not None:
                    fault.remaining -= 1
                    if fault.remaining <= 0:
                        self._faults.remove(fault)
                return fault
            if self.error_rate > 0 and self._random.random() < self.error_rate:
                return Fault("error", status=503)
        return None


def corrupt_counter(kind: str | None, value: int) -> tuple[bool, Any]:
    """Return (include the field, value to send) for a counter under `kind`."""
    if kind is None:
        return True, value
    replacements: dict[str, Any] = {
        "negative": -1 - value,
        "string": str(value),
        "float": value + 0.5,
        "huge": 2**63 + value,
        "bool": True,
        "null": None,
    }
    if kind == "missing":
        return False, None
    return True, replacements[kind]
