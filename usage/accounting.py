"""The accounting rules: what a config has consumed and what a reseller has used.

A config's consumed bytes are `usage_bytes` (the panel's current counter)
plus `settled_usage_bytes` (bytes consumed before counter resets). A sync
never lowers them: they grow by what the panel's counters show was used
since the previous good read.

- With a lifetime counter (Marzban and Marzneshin `lifetime_used_traffic`,
  3x-ui 2.6.7 to 3.0 `allTime`), the growth is the lifetime's growth, so no
  byte is lost across a reset.
- Without one, a counter that rose adds the difference and a counter that
  fell (a reset) adds its current value. Bytes used between the last read
  and the reset cannot be seen and are lost.
- The first good read starts from the panel's current counter: traffic from
  before the config was tracked is not the reseller's.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import NamedTuple


class Counters(NamedTuple):
    """A config's stored counters, in bytes.

    A named tuple, because a sync builds two for every config; on CPython
    3.11 that is about three times faster than a frozen dataclass.
    """

    usage_bytes: int
    settled_usage_bytes: int
    last_lifetime_bytes: int | None

    @property
    def consumed_bytes(self) -> int:
        return self.usage_bytes + self.settled_usage_bytes


def growth_since_last_read(previous: Counters, current_bytes: int, lifetime_bytes: int | None) -> int:
    """Bytes used since the previous good read, by the rules in the module docstring."""
    if lifetime_bytes is not None and previous.last_lifetime_bytes is not None:
        if lifetime_bytes >= previous.last_lifetime_bytes:
            return lifetime_bytes - previous.last_lifetime_bytes
        # The lifetime counter itself went back (the user was recreated): fall back to the current counter.
    if current_bytes >= previous.usage_bytes:
        return current_bytes - previous.usage_bytes
    return current_bytes


def apply_reading(previous: Counters, current_bytes: int, lifetime_bytes: int | None, first_read: bool) -> Counters:
    """Return the counters after a good read of the panel's current (and lifetime) counter."""
    if first_read:
        consumed = max(previous.consumed_bytes, current_bytes)
    else:
        consumed = previous.consumed_bytes + growth_since_last_read(previous, current_bytes, lifetime_bytes)
    # A panel whose current counter outgrew its lifetime counter is inconsistent; the
    # current counter wins so that settled bytes never go negative.
    consumed = max(consumed, current_bytes)
    return Counters(
        usage_bytes=current_bytes,
        settled_usage_bytes=consumed - current_bytes,
        last_lifetime_bytes=lifetime_bytes,
    )


def reseller_used_bytes(consumed_per_config: Iterable[int], forgiven_bytes: int) -> int:
    """Sum of the configs' consumed bytes, whatever their status, minus forgiven bytes, never below 0."""
    return max(0, sum(consumed_per_config) - max(0, forgiven_bytes))
