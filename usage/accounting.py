"""The accounting rules: what a config has consumed and what a reseller has used."""

from __future__ import annotations

from collections.abc import Iterable


def reseller_used_bytes(consumed_per_config: Iterable[int], forgiven_bytes: int) -> int:
    """Sum of the configs' consumed bytes, whatever their status, minus forgiven bytes, never below 0."""
    return max(0, sum(consumed_per_config) - max(0, forgiven_bytes))
