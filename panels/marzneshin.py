"""Client for Marzneshin's REST API.

Checked against the source of marzneshin/marzneshin v0.5.0, v0.6.0, v0.7.0
and the master branch of October 2025 (app/routes, app/models, app/db), which
agree on everything used here:

- Login: POST /api/admins/token with an OAuth2 password form returns
  {"access_token", "is_sudo", "token_type"}; bad credentials and a missing
  or invalid token get HTTP 401.
- GET /api/users is paginated by fastapi-pagination: `page` (from 1) and
  `size` (1 to 100, more is a 422), returning {"items", "total", "page",
  "size", "pages"}. Repeated `username` parameters filter it, but ONE
  value is matched with SQL ILIKE '%name%' (a case-insensitive substring,
  where '_' matches any character), and only two or more values are
  matched exactly with IN. This client therefore always sends at least
  two values (a single name is sent twice) and still keeps only items
  whose username equals a requested name.
- Each user has `used_traffic` and `lifetime_used_traffic` in bytes,
  `enabled` (the admin switch), and `is_active` (enabled, not expired, not
  over its data limit), which is what UserUsage.enabled reports.
- POST /api/users/{username}/disable and /enable return 409 when the user
  is already in that state, which counts as success here; 404 means no such
  user (403 for an admin that does not own the user).

Marzneshin exposes no version in its API, so `check` reports None.
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import quote

from panels.base import PanelInfo, UserUsage
from panels.batching import UsageResult
from panels.counters import read_counter, read_flag
from panels.http_client import BearerTokenClient
from panels.json_shapes import require_field, require_int, require_list, require_object
from worker.errors import PanelError, PanelUserNotFoundError

logger = logging.getLogger(__name__)

# fastapi-pagination's maximum page size, which Marzneshin keeps.
PAGE_SIZE = 100
# One request's names fit one page, so a batch needs a second page only when
# the panel returns unexpected extra rows.
USERS_PER_REQUEST = PAGE_SIZE
# A guard against a panel whose `pages` keeps growing.
MAX_PAGES_PER_BATCH = 10


class MarzneshinClient(BearerTokenClient):
    """Marzneshin over its bearer-token REST API."""

    TOKEN_PATH = "/api/admins/token"
    PANEL_NAME = "Marzneshin"
    USERS_PER_REQUEST = USERS_PER_REQUEST

    def _read_batch(self, names: list[str]) -> UsageResult:
        # Two or more values switch Marzneshin from substring to exact matching.
        filter_names = names if len(names) > 1 else names * 2
        requested = set(names)
        found: dict[str, dict[str, Any]] = {}
        page = 1
        while True:
            params = [("username", name) for name in filter_names]
            params += [("page", str(page)), ("size", str(PAGE_SIZE)), ("order_by", "username")]
            body = require_object(
                self._http.send("GET", "/api/users", params=params).json(),
                "GET /api/users", self.settings.id,
            )
            items = require_list(require_field(body, "items", "GET /api/users", self.settings.id),
                                 "GET /api/users field 'items'", self.settings.id)
            for item in items:
                record = require_object(item, "GET /api/users item", self.settings.id)
                name = record.get("username")
                if isinstance(name, str) and name in requested:
                    found[name] = record
            pages = require_int(body.get("pages"), "GET /api/users field 'pages'", self.settings.id)
            if page >= pages or not items or page >= MAX_PAGES_PER_BATCH:
                break
            page += 1
        return {name: self._usage_or_error(name, found.get(name)) for name in names}

    def _usage_or_error(self, name: str, record: dict[str, Any] | None) -> UserUsage | PanelError:
        if record is None:
            return self._not_found(name)
        panel_id = self.settings.id
        try:
            return UserUsage(
                username=name,
                used_bytes=read_counter(record, "used_traffic", name, panel_id),
                lifetime_bytes=read_counter(record, "lifetime_used_traffic", name, panel_id),
                enabled=read_flag(record, "is_active", name, panel_id),
            )
        except PanelError as exc:
            return exc

    def _not_found(self, name: str) -> PanelUserNotFoundError:
        return PanelUserNotFoundError(
            f"user {name!r} not found on Marzneshin panel {self.settings.name!r}",
            panel_id=self.settings.id, username=name,
        )

    def _switch(self, name: str, action: str) -> None:
        self._ensure_login()
        path = f"/api/users/{quote(name, safe='')}/{action}"
        result = self._http.send("POST", path, accept_statuses=(404, 409))
        if result.status_code == 404:
            raise self._not_found(name)
        if result.status_code == 409:
            logger.debug("panel %s: user %r was already %sd", self.settings.id, name, action)
            return
        logger.info("panel %s: user %r %sd", self.settings.id, name, action)

    def disable_user(self, username: str) -> None:
        self._switch(username, "disable")

    def enable_user(self, username: str) -> None:
        # NOTE: this sets the admin switch only; a user that is expired or
        # over its data limit stays inactive until the panel admin extends it.
        self._switch(username, "enable")

    def check(self) -> PanelInfo:
        self.login()
        result = self._http.send("GET", "/api/users", params={"page": "1", "size": "1"})
        body = require_object(result.json(), "GET /api/users", self.settings.id)
        total = require_int(require_field(body, "total", "GET /api/users", self.settings.id),
                            "GET /api/users field 'total'", self.settings.id)
        return PanelInfo(version=None, user_count=total)
