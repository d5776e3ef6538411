"""Marzneshin's REST API as the simulator serves it, including its username filter quirk."""

from __future__ import annotations

import math
import re
from typing import TYPE_CHECKING, Any

from simulator.faults import corrupt_counter
from simulator.http import Request, Response, Router, json_response
from simulator.store import UserView

if TYPE_CHECKING:
    from simulator.panel import SimulatedPanel

MAX_PAGE_SIZE = 100  # fastapi-pagination's limit, as in Marzneshin
DEFAULT_PAGE_SIZE = 50


def ilike_pattern(text: str) -> re.Pattern[str]:
    """Compile SQL `ILIKE '%text%'`: a case-insensitive substring where '_' is any character."""
    parts = []
    for char in text:
        if char == "%":
            parts.append(".*")
        elif char == "_":
            parts.append(".")
        else:
            parts.append(re.escape(char))
    return re.compile(".*" + "".join(parts) + ".*", re.IGNORECASE | re.DOTALL)


def _validation_error(field: str, message: str, value: str | None) -> Response:
    return json_response(422, {"detail": [{"type": "value_error", "loc": ["query", field],
                                           "msg": message, "input": value}]})


class MarzneshinApp:
    """Routes and handlers for one simulated Marzneshin panel."""

    reset_enables = False  # a reset clears the data limit flag but not the admin switch

    def __init__(self, panel: SimulatedPanel):
        self.panel = panel
        self.router = Router()
        self.router.add("POST", "/api/admins/token", self.token)
        self.router.add("GET", "/api/users", self.list_users)
        self.router.add("GET", "/api/users/{username}", self.get_user)
        self.router.add("POST", "/api/users/{username}/enable", self.enable)
        self.router.add("POST", "/api/users/{username}/disable", self.disable)
        self.router.add("POST", "/api/users/{username}/reset", self.reset_user)

    def not_found(self, request: Request) -> Response:
        return json_response(404, {"detail": "Not Found"})

    def _unauthorized(self, request: Request) -> Response | None:
        if self.panel.tokens.check(request.bearer_token()):
            return None
        return json_response(
            401, {"detail": "Could not validate credentials"}, [("WWW-Authenticate", "Bearer")]
        )

    def token(self, request: Request) -> Response:
        form = request.form()
        spec = self.panel.spec
        if form.get("username") != spec.username or form.get("password") != spec.password:
            return json_response(
                401, {"detail": "Incorrect username or password"}, [("WWW-Authenticate", "Bearer")]
            )
        return json_response(
            200, {"access_token": self.panel.tokens.issue(), "is_sudo": True, "token_type": "bearer"}
        )

    def render(self, user: UserView) -> dict[str, Any]:
        record: dict[str, Any] = {
            "id": user.index + 1,
            "username": user.username,
            "expire_strategy": "never",
            "expire_date": None,
            "usage_duration": None,
            "activation_deadline": None,
            "key": f"{user.index:032x}",
            "data_limit": None,
            "data_limit_reset_strategy": "no_reset",
            "note": None,
            "lifetime_used_traffic": user.lifetime,
            "sub_updated_at": None,
            "sub_last_user_agent": None,
            "online_at": None,
            "activated": user.active,
            "is_active": user.active,
            "expired": False,
            "data_limit_reached": user.limited,
            "enabled": user.enabled,
            "sub_revoked_at": None,
            "created_at": "2025-01-01T00:00:00",
            "service_ids": [1],
            "subscription_url": f"/sub/{user.username}/{user.index:032x}",
            "owner_username": self.panel.spec.username,
            "traffic_reset_at": None,
        }
        include, value = corrupt_counter(user.counter_fault, user.used)
        if include:
            record["used_traffic"] = value
        return record

    def _matching_indices(self, names: list[str] | None) -> list[int]:
        store = self.panel.store
        if not names:
            return list(store.indices())
        if len(names) == 1:
            # Marzneshin matches a single username as a substring, not exactly.
            pattern = ilike_pattern(names[0])
            return [index for index in store.indices() if pattern.fullmatch(store.name_of(index))]
        found = (store.index_of(name) for name in set(names))
        return sorted(index for index in found if index is not None)

    def list_users(self, request: Request) -> Response:
        denied = self._unauthorized(request)
        if denied:
            return denied
        page_text, size_text = request.arg("page", "1"), request.arg("size", str(DEFAULT_PAGE_SIZE))
        if not (page_text or "").isdigit() or int(page_text) < 1:
            return _validation_error("page", "Input should be greater than or equal to 1", page_text)
        if not (size_text or "").isdigit() or not 1 <= int(size_text) <= MAX_PAGE_SIZE:
            return _validation_error("size", "Input should be less than or equal to 100", size_text)
        page, size = int(page_text), int(size_text)
        indices = self._matching_indices(request.query.get("username"))
        if request.arg("order_by") == "username":
            indices.sort(key=self.panel.store.name_of)
        chunk = indices[(page - 1) * size:page * size]
        return json_response(200, {
            "items": [self.render(self.panel.read_user(index)) for index in chunk],
            "total": len(indices),
            "page": page,
            "size": size,
            "pages": math.ceil(len(indices) / size),
            "links": {"first": "/api/users?page=1", "last": None, "self": None, "next": None, "prev": None},
        })

    def _find(self, username: str) -> int | None:
        return self.panel.store.index_of(username)

    def get_user(self, request: Request, username: str) -> Response:
        denied = self._unauthorized(request)
        if denied:
            return denied
        index = self._find(username)
        if index is None:
            return json_response(404, {"detail": "User not found"})
        return json_response(200, self.render(self.panel.store.view(index)))

    def _switch(self, request: Request, username: str, enable: bool) -> Response:
        denied = self._unauthorized(request)
        if denied:
            return denied
        index = self._find(username)
        if index is None:
            return json_response(404, {"detail": "User not found"})
        store = self.panel.store
        if store.view(index).enabled == enable:
            detail = "User is already enabled" if enable else "User is not enabled"
            return json_response(409, {"detail": detail})
        store.set_enabled(index, enable)
        return json_response(200, self.render(store.view(index)))

    def enable(self, request: Request, username: str) -> Response:
        return self._switch(request, username, True)

    def disable(self, request: Request, username: str) -> Response:
        return self._switch(request, username, False)

    def reset_user(self, request: Request, username: str) -> Response:
        denied = self._unauthorized(request)
        if denied:
            return denied
        index = self._find(username)
        if index is None:
            return json_response(404, {"detail": "User not found"})
        self.panel.store.reset(index, enable=self.reset_enables)
        return json_response(200, self.render(self.panel.store.view(index)))
