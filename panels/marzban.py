"""Client for Marzban's REST API.

Checked against the source of Gozargah/Marzban v0.7.0 and v0.8.4 (app/routers,
app/models, app/db/crud.py), which agree on everything used here:

- Login: POST /api/admin/token with an OAuth2 password form (username,
  password) returns {"access_token", "token_type": "bearer"}; bad credentials
  and a missing, expired or invalid token get HTTP 401.
- GET /api/users takes repeated `username` query parameters, matched exactly
  (SQL IN), plus optional `offset` and `limit` with no upper bound, and
  returns {"users": [...], "total": N}, where total counts the filtered rows.
- Each user has `username`, `status` (active, disabled, limited, expired,
  on_hold), `used_traffic` and `lifetime_used_traffic`, in bytes.
- GET and PUT /api/user/{username}; PUT accepts a partial UserModify body
  whose `status` may be active, disabled or on_hold, and returns 404 with
  {"detail": "User not found"} for an unknown user.
- GET /api/system returns `version` and `total_user` (the admin's own users
  unless the admin is sudo).

A user counts as enabled when its status is active or on_hold: Marzban keeps
both in the Xray config (an on_hold user starts its period on first connect)
and removes disabled, limited and expired users.
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import quote

from panels.base import PanelInfo, UserUsage
from panels.batching import UsageResult
from panels.counters import read_counter
from panels.http_client import BearerTokenClient
from panels.json_shapes import require_field, require_int, require_list, require_object, require_str
from worker.errors import PanelError, PanelResponseError, PanelUserNotFoundError

logger = logging.getLogger(__name__)

# Names per GET /api/users request. Marzban has no limit, but 50 names of at
# most 32 characters keep the URL near 2 KB, far below the 8 KB request line
# that nginx, the usual proxy in front of a panel, accepts by default.
USERS_PER_REQUEST = 50
ENABLED_STATUSES = frozenset({"active", "on_hold"})


class MarzbanClient(BearerTokenClient):
    """Marzban 0.7-0.8 over its bearer-token REST API."""

    TOKEN_PATH = "/api/admin/token"
    PANEL_NAME = "Marzban"
    USERS_PER_REQUEST = USERS_PER_REQUEST

    def _read_batch(self, names: list[str]) -> UsageResult:
        params = [("username", name) for name in names]
        result = self._http.send("GET", "/api/users", params=params)
        body = require_object(result.json(), "GET /api/users", self.settings.id)
        users = require_list(require_field(body, "users", "GET /api/users", self.settings.id),
                             "GET /api/users field 'users'", self.settings.id)
        requested = set(names)
        found: dict[str, Any] = {}
        for user in users:
            record = require_object(user, "GET /api/users item", self.settings.id)
            name = record.get("username")
            if isinstance(name, str) and name in requested:
                found[name] = record
        results: UsageResult = {}
        for name in names:
            record = found.get(name)
            if record is None:
                results[name] = self._not_found(name)
                continue
            try:
                results[name] = self._usage_from_record(name, record)
            except PanelError as exc:
                results[name] = exc
        return results

    def _usage_from_record(self, name: str, record: dict[str, Any]) -> UserUsage:
        panel_id = self.settings.id
        status = record.get("status")
        if not isinstance(status, str):
            raise PanelResponseError(
                f"invalid field 'status' for user {name!r}: expected a string, got {status!r}",
                panel_id=panel_id,
            )
        return UserUsage(
            username=name,
            used_bytes=read_counter(record, "used_traffic", name, panel_id),
            lifetime_bytes=read_counter(record, "lifetime_used_traffic", name, panel_id),
            enabled=status in ENABLED_STATUSES,
        )

    def _not_found(self, name: str) -> PanelUserNotFoundError:
        return PanelUserNotFoundError(
            f"user {name!r} not found on Marzban panel {self.settings.name!r}",
            panel_id=self.settings.id, username=name,
        )

    def _get_user(self, name: str) -> dict[str, Any]:
        path = f"/api/user/{quote(name, safe='')}"
        result = self._http.send("GET", path, accept_statuses=(404,))
        if result.status_code == 404:
            raise self._not_found(name)
        return require_object(result.json(), f"GET {path}", self.settings.id)

    def _set_status(self, name: str, status: str) -> None:
        self._ensure_login()
        record = self._get_user(name)
        current = record.get("status")
        if current == status or (status == "active" and current in ENABLED_STATUSES):
            return
        body: dict[str, Any] = {"status": status}
        # Marzban 0.8 deletes the user's next plan on any PUT that omits it.
        if record.get("next_plan") is not None:
            body["next_plan"] = record["next_plan"]
        path = f"/api/user/{quote(name, safe='')}"
        result = self._http.send("PUT", path, json_body=body, accept_statuses=(404,))
        if result.status_code == 404:
            raise self._not_found(name)
        logger.info("panel %s: user %r status changed from %r to %r", self.settings.id, name, current, status)

    def disable_user(self, username: str) -> None:
        self._set_status(username, "disabled")

    def enable_user(self, username: str) -> None:
        # NOTE: a user that is limited or expired is set to active too, but
        # Marzban's own review job limits or expires it again while its data
        # limit or expiry date still applies.
        self._set_status(username, "active")

    def check(self) -> PanelInfo:
        self.login()
        result = self._http.send("GET", "/api/system")
        body = require_object(result.json(), "GET /api/system", self.settings.id)
        version = require_str(require_field(body, "version", "GET /api/system", self.settings.id),
                              "GET /api/system field 'version'", self.settings.id)
        total = require_int(require_field(body, "total_user", "GET /api/system", self.settings.id),
                            "GET /api/system field 'total_user'", self.settings.id)
        return PanelInfo(version=version, user_count=total)
