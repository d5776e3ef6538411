"""Mapping of a final HTTP status to the PanelError subclass that callers handle."""

from __future__ import annotations

from collections.abc import Collection

from panels.base import PanelSettings
from panels.http_result import HttpResult
from panels.json_shapes import preview
from worker.errors import PanelAuthError, PanelError, PanelResponseError


def check_status(
    result: HttpResult,
    settings: PanelSettings,
    accept_statuses: Collection[int],
    authenticated: bool,
) -> HttpResult:
    """Return `result` for 2xx or an accepted status, or raise the matching PanelError.

    Callers see 5xx here only after every retry has failed, and 401 on an
    authenticated request only after a new login has failed too.
    """
    status = result.status_code
    if 200 <= status < 300 or status in accept_statuses:
        return result
    where = f"{result.method} {result.path} on panel {settings.name!r}"
    if status == 401 and not authenticated:
        raise PanelAuthError(
            f"{where} rejected the login of user {settings.username!r} (HTTP 401); "
            "check the panel username and password",
            panel_id=settings.id,
        )
    if status == 401:
        raise PanelAuthError(
            f"{where} rejected the session even after a new login (HTTP 401)", panel_id=settings.id
        )
    if status == 403:
        raise PanelError(
            f"{where} is forbidden for user {settings.username!r} (HTTP 403); check that this "
            "admin may manage the user (on 3x-ui, a 403 also means a rejected CSRF token)",
            panel_id=settings.id, retryable=False,
        )
    if status >= 500:
        raise PanelError(
            f"{where} failed with HTTP {status} after {settings.max_attempts} attempt(s)",
            panel_id=settings.id, retryable=True,
        )
    raise PanelResponseError(f"{where} failed with HTTP {status}{_explain(result)}", panel_id=settings.id)


def _explain(result: HttpResult) -> str:
    """Return a short explanation of a 3xx or 4xx response for its error message."""
    if 300 <= result.status_code < 400:
        return "; the redirect leads to another origin or would change the method, check base_url"
    if result.status_code == 404:
        return "; check base_url and the panel type"
    if result.secret or not result.body:
        return ""
    return f": {preview(result.body[:200].decode('utf-8', 'replace'))}"
