"""Shape checks for decoded panel responses.

Each helper returns the value when it has the expected JSON type and raises
`PanelResponseError` naming the field and the value otherwise, so client code
can index into responses without a chain of isinstance checks.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from worker.errors import PanelResponseError

_PREVIEW_CHARS = 120


def preview(value: Any) -> str:
    """Return a short repr of `value` for error messages."""
    text = repr(value)
    if len(text) > _PREVIEW_CHARS:
        return text[:_PREVIEW_CHARS] + "..."
    return text


def require_object(value: Any, context: str, panel_id: int | None) -> dict[str, Any]:
    """Return `value` when it is a JSON object, or raise PanelResponseError."""
    if not isinstance(value, dict):
        raise PanelResponseError(
            f"{context}: expected a JSON object, got {type(value).__name__} {preview(value)}",
            panel_id=panel_id,
        )
    return value


def require_list(value: Any, context: str, panel_id: int | None) -> list[Any]:
    """Return `value` when it is a JSON array, or raise PanelResponseError."""
    if not isinstance(value, list):
        raise PanelResponseError(
            f"{context}: expected a JSON array, got {type(value).__name__} {preview(value)}",
            panel_id=panel_id,
        )
    return value


def require_field(record: Mapping[str, Any], field: str, context: str, panel_id: int | None) -> Any:
    """Return `record[field]`, or raise PanelResponseError when the key is missing."""
    if field not in record:
        raise PanelResponseError(
            f"{context}: missing field {field!r} (keys: {preview(sorted(record))})",
            panel_id=panel_id,
        )
    return record[field]


def require_str(value: Any, context: str, panel_id: int | None) -> str:
    """Return `value` when it is a JSON string, or raise PanelResponseError."""
    if not isinstance(value, str):
        raise PanelResponseError(
            f"{context}: expected a string, got {type(value).__name__} {preview(value)}",
            panel_id=panel_id,
        )
    return value


def require_int(value: Any, context: str, panel_id: int | None) -> int:
    """Return `value` when it is a non-negative JSON integer, or raise PanelResponseError."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise PanelResponseError(
            f"{context}: expected a non-negative integer, got {type(value).__name__} {preview(value)}",
            panel_id=panel_id,
        )
    return value
