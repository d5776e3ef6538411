"""Compact storage of one simulated panel's users and their traffic counters.

Counters live in flat arrays of about 33 bytes a user and grow lazily. Each
user stores a base value, a rate in bytes a second and the time the base was
taken, and a read computes base + rate * elapsed. A block of generated users
(`prefix` + number) stores no names at all, so a million users across ten
panels need tens of megabytes, not gigabytes.
"""

from __future__ import annotations

import threading
import time
from array import array
from collections.abc import Callable, Sequence
from dataclasses import dataclass

MAX_COUNTER = 2**63 - 1
_PRESENT = 1
_ENABLED = 2
_LIMITED = 4  # the panel itself stopped the user (data limit reached)


@dataclass(frozen=True)
class UserView:
    """A user's state at one moment, as the simulated panel would report it."""

    index: int
    username: str
    used: int
    lifetime: int
    enabled: bool  # the admin's switch
    limited: bool  # stopped by the panel at its data limit
    counter_fault: str | None

    @property
    def active(self) -> bool:
        """Whether the user may connect: enabled and not limited."""
        return self.enabled and not self.limited


class UserStore:
    """Users of one panel; every method is thread-safe."""

    def __init__(self, clock: Callable[[], float] = time.monotonic):
        self._clock = clock
        self._lock = threading.RLock()
        self._prefix: str | None = None
        self._generated = 0
        self._names: list[str] = []  # explicit users, at index _generated + position
        self._index: dict[str, int] = {}
        self._used = array("q")
        self._lifetime = array("q")
        self._rate = array("d")
        self._since = array("d")
        self._flags = bytearray()
        self._removed = 0
        self._present_cache: Sequence[int] | None = None
        self._counter_faults: dict[int, str] = {}

    def add_generated(self, prefix: str, count: int, used: int = 0, rate: float = 0.0) -> None:
        """Add users `prefix`0 .. `prefix`{count-1}; allowed once, before any other user."""
        with self._lock:
            if self._flags:
                raise ValueError("generated users must be added before any other user")
            if not prefix or prefix[-1].isdigit():
                raise ValueError(f"generated user prefix must be non-empty and not end in a digit, got {prefix!r}")
            self._prefix, self._generated = prefix, count
            self._used = array("q", [used]) * count
            self._lifetime = array("q", [used]) * count
            self._rate = array("d", [rate]) * count
            self._since = array("d", [self._clock()]) * count
            self._flags = bytearray([_PRESENT | _ENABLED]) * count
            self._present_cache = None

    def add(self, username: str, used: int = 0, lifetime: int | None = None,
            rate: float = 0.0, enabled: bool = True) -> None:
        """Add one user; `lifetime` defaults to `used`."""
        with self._lock:
            if self.index_of(username) is not None:
                raise ValueError(f"user {username!r} already exists")
            index = self._generated + len(self._names)
            self._names.append(username)
            self._used.append(used)
            self._lifetime.append(used if lifetime is None else lifetime)
            self._rate.append(rate)
            self._since.append(self._clock())
            self._flags.append(_PRESENT | (_ENABLED if enabled else 0))
            self._present_cache = None
            # Published last, so a lock-free index_of never sees a half-added user.
            self._index[username] = index

    def remove(self, username: str) -> None:
        with self._lock:
            index = self.require(username)
            self._flags[index] &= ~_PRESENT & 0xFF
            self._counter_faults.pop(index, None)
            self._removed += 1
            self._present_cache = None

    def index_of(self, username: str) -> int | None:
        """Return the user's index, or None when no such user is present."""
        index = self._index.get(username)
        if index is None and self._prefix and username.startswith(self._prefix):
            suffix = username[len(self._prefix):]
            if suffix.isdigit() and str(int(suffix)) == suffix and int(suffix) < self._generated:
                index = int(suffix)
        if index is None or not self._flags[index] & _PRESENT:
            return None
        return index

    def require(self, username: str) -> int:
        """Return the user's index, or raise KeyError."""
        index = self.index_of(username)
        if index is None:
            raise KeyError(f"no user {username!r} on this simulated panel")
        return index

    def name_of(self, index: int) -> str:
        if index < self._generated:
            return f"{self._prefix}{index}"
        return self._names[index - self._generated]

    def indices(self) -> Sequence[int]:
        """Return the indices of present users, in the order they were added."""
        with self._lock:
            if self._removed == 0:
                return range(len(self._flags))
            if self._present_cache is None:
                flags = self._flags
                self._present_cache = array("l", (i for i in range(len(flags)) if flags[i] & _PRESENT))
            return self._present_cache

    def __len__(self) -> int:
        return len(self._flags) - self._removed

    def _growth(self, index: int, now: float) -> int:
        flags = self._flags[index]
        if not flags & _ENABLED or flags & _LIMITED or self._rate[index] <= 0:
            return 0
        return int(self._rate[index] * max(0.0, now - self._since[index]))

    def _materialize(self, index: int, extra: int = 0) -> None:
        """Fold the growth so far into the base counters and restart the clock."""
        now = self._clock()
        growth = self._growth(index, now) + extra
        self._used[index] = min(MAX_COUNTER, self._used[index] + growth)
        self._lifetime[index] = min(MAX_COUNTER, self._lifetime[index] + growth)
        self._since[index] = now

    def view(self, index: int, bytes_per_read: int = 0) -> UserView:
        """Return the user's current state; `bytes_per_read` adds traffic for this read."""
        with self._lock:
            if bytes_per_read and self._flags[index] & _ENABLED and not self._flags[index] & _LIMITED:
                self._materialize(index, bytes_per_read)
            growth = self._growth(index, self._clock())
            flags = self._flags[index]
            return UserView(
                index=index,
                username=self.name_of(index),
                used=min(MAX_COUNTER, self._used[index] + growth),
                lifetime=min(MAX_COUNTER, self._lifetime[index] + growth),
                enabled=bool(flags & _ENABLED),
                limited=bool(flags & _LIMITED),
                counter_fault=self._counter_faults.get(index),
            )

    def set_counters(self, index: int, used: int, lifetime: int | None = None) -> None:
        with self._lock:
            self._materialize(index)
            self._used[index] = used
            if lifetime is not None:
                self._lifetime[index] = lifetime

    def set_rate(self, index: int, rate: float) -> None:
        with self._lock:
            self._materialize(index)
            self._rate[index] = rate

    def _set_flag(self, index: int, flag: int, value: bool) -> None:
        with self._lock:
            self._materialize(index)
            if value:
                self._flags[index] |= flag
            else:
                self._flags[index] &= ~flag & 0xFF

    def set_enabled(self, index: int, enabled: bool) -> None:
        self._set_flag(index, _ENABLED, enabled)

    def set_limited(self, index: int, limited: bool) -> None:
        self._set_flag(index, _LIMITED, limited)

    def reset(self, index: int, enable: bool) -> None:
        """Set the current counter to 0 and clear the limit; lifetime keeps counting.

        With `enable`, also switch the user on, as Marzban's reset does.
        """
        with self._lock:
            self._materialize(index)
            self._used[index] = 0
            self._flags[index] &= ~_LIMITED & 0xFF
            if enable:
                self._flags[index] |= _ENABLED

    def set_counter_fault(self, index: int, kind: str | None) -> None:
        with self._lock:
            if kind is None:
                self._counter_faults.pop(index, None)
            else:
                self._counter_faults[index] = kind
