"""Validation of the traffic counters and flags that panels return per user.

A panel that returns a broken counter must never be read as 0 bytes, because
the sync would then record a reset that did not happen. Each check raises
`PanelResponseError` for one user. The client stores that error as the
user's result in `read_usage`, so the other users are still reported.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from worker.errors import PanelResponseError

# The panels store counters as signed 64-bit integers (BIGINT in Marzban and
# Marzneshin, int64 in 3x-ui), so a larger value cannot be a real counter.
MAX_COUNTER = 2**63 - 1

_MISSING = object()


def read_counter(
    record: Mapping[str, Any], field: str, username: str, panel_id: int | None
) -> int:
    """Return `record[field]` as a byte counter, or raise PanelResponseError.

    A valid counter is a JSON integer from 0 to 2**63-1. A missing key, null,
    bool, float, string or an out-of-range integer is rejected.
    """
    value = record.get(field, _MISSING)
    if value is _MISSING:
        raise PanelResponseError(
            f"panel response is missing counter {field!r} for user {username!r}; "
            "expected an integer number of bytes",
            panel_id=panel_id,
        )
    return validate_counter(value, field, username, panel_id)


def read_optional_counter(
    record: Mapping[str, Any], field: str, username: str, panel_id: int | None
) -> int | None:
    """Return `record[field]` as a byte counter, or None when the key is absent.

    This suits counters that older panel versions do not send at all. A key
    that is present is validated like `read_counter`, so null is still an error.
    """
    if field not in record:
        return None
    return validate_counter(record[field], field, username, panel_id)


def validate_counter(value: Any, field: str, username: str, panel_id: int | None) -> int:
    """Return `value` when it is a valid byte counter, or raise PanelResponseError."""
    # bool is a subclass of int, so it must be rejected before the int check.
    if isinstance(value, bool) or not isinstance(value, int):
        raise PanelResponseError(
            f"invalid counter {field!r} for user {username!r}: expected an integer "
            f"number of bytes, got {type(value).__name__} {value!r}",
            panel_id=panel_id,
        )
    if value < 0 or value > MAX_COUNTER:
        raise PanelResponseError(
            f"invalid counter {field!r} for user {username!r}: expected 0 to {MAX_COUNTER}, "
            f"got {value!r}",
            panel_id=panel_id,
        )
    return value


def read_flag(
    record: Mapping[str, Any], field: str, username: str, panel_id: int | None
) -> bool:
    """Return `record[field]` when it is a JSON boolean, or raise PanelResponseError."""
    value = record.get(field, _MISSING)
    if not isinstance(value, bool):
        received = "nothing" if value is _MISSING else f"{type(value).__name__} {value!r}"
        raise PanelResponseError(
            f"invalid flag {field!r} for user {username!r}: expected true or false, got {received}",
            panel_id=panel_id,
        )
    return value
