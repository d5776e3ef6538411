"""Marzban's REST API as the simulator serves it (the parts of 0.7-0.8 that clients use)."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

from simulator.faults import corrupt_counter
from simulator.http import Request, Response, Router, json_response
from simulator.store import UserView

if TYPE_CHECKING:
    from simulator.panel import SimulatedPanel

_MODIFIABLE_STATUSES = {"active", "disabled", "on_hold"}


class MarzbanApp:
    """Routes and handlers for one simulated Marzban panel."""

    # Marzban's reset sets any status but expired back to active, which also
    # switches on a user that an admin disabled (v0.7.0 and v0.8.4 alike).
    reset_enables = True

    def __init__(self, panel: SimulatedPanel):
        self.panel = panel
        self.router = Router()
        self.router.add("POST", "/api/admin/token", self.token)
        self.router.add("GET", "/api/users", self.list_users)
        self.router.add("GET", "/api/user/{username}", self.get_user)
        self.router.add("PUT", "/api/user/{username}", self.modify_user)
        self.router.add("POST", "/api/user/{username}/reset", self.reset_user)
        self.router.add("GET", "/api/system", self.system)

    def not_found(self, request: Request) -> Response:
        return json_response(404, {"detail": "Not Found"})

    def _unauthorized(self, request: Request) -> Response | None:
        token = request.bearer_token()
        if token is None:
            return json_response(401, {"detail": "Not authenticated"}, [("WWW-Authenticate", "Bearer")])
        if not self.panel.tokens.check(token):
            return json_response(
                401, {"detail": "Could not validate credentials"}, [("WWW-Authenticate", "Bearer")]
            )
        return None

    def token(self, request: Request) -> Response:
        form = request.form()
        spec = self.panel.spec
        if form.get("username") != spec.username or form.get("password") != spec.password:
            return json_response(
                401, {"detail": "Incorrect username or password"}, [("WWW-Authenticate", "Bearer")]
            )
        return json_response(200, {"access_token": self.panel.tokens.issue(), "token_type": "bearer"})

    def render(self, user: UserView) -> dict[str, Any]:
        if not user.enabled:
            status = "disabled"
        elif user.limited:
            status = "limited"
        else:
            status = "active"
        record: dict[str, Any] = {
            "username": user.username,
            "status": status,
            "lifetime_used_traffic": user.lifetime,
            "data_limit": None,
            "data_limit_reset_strategy": "no_reset",
            "expire": None,
            "proxies": {"vless": {"id": str(uuid.uuid5(uuid.NAMESPACE_URL, user.username)), "flow": ""}},
            "inbounds": {"vless": ["VLESS TCP"]},
            "note": None,
            "on_hold_expire_duration": None,
            "on_hold_timeout": None,
            "created_at": "2025-01-01T00:00:00",
            "links": [],
            "subscription_url": f"/sub/{user.username}",
            "excluded_inbounds": {"vless": []},
            "admin": {"username": self.panel.spec.username, "is_sudo": True},
        }
        include, value = corrupt_counter(user.counter_fault, user.used)
        if include:
            record["used_traffic"] = value
        if self.panel.version >= (0, 8):
            record["next_plan"] = None
        return record

    def list_users(self, request: Request) -> Response:
        denied = self._unauthorized(request)
        if denied:
            return denied
        store = self.panel.store
        names = request.query.get("username")
        if names:
            found = (store.index_of(name) for name in dict.fromkeys(names))
            indices = sorted(index for index in found if index is not None)
        else:
            indices = list(store.indices())
        offset = int(request.arg("offset") or 0)
        limit = int(request.arg("limit") or 0)
        page = indices[offset:offset + limit] if limit else indices[offset:]
        users = [self.render(self.panel.read_user(index)) for index in page]
        return json_response(200, {"users": users, "total": len(indices)})

    def _user_index(self, username: str) -> int | None:
        return self.panel.store.index_of(username)

    def get_user(self, request: Request, username: str) -> Response:
        denied = self._unauthorized(request)
        if denied:
            return denied
        index = self._user_index(username)
        if index is None:
            return json_response(404, {"detail": "User not found"})
        return json_response(200, self.render(self.panel.store.view(index)))

    def modify_user(self, request: Request, username: str) -> Response:
        denied = self._unauthorized(request)
        if denied:
            return denied
        index = self._user_index(username)
        if index is None:
            return json_response(404, {"detail": "User not found"})
        body = request.json()
        status = body.get("status") if isinstance(body, dict) else None
        if status is not None:
            if status not in _MODIFIABLE_STATUSES:
                return json_response(422, {"detail": {"status": f"invalid status {status!r}"}})
            store = self.panel.store
            store.set_enabled(index, status != "disabled")
            if status == "active":
                store.set_limited(index, False)
        return json_response(200, self.render(self.panel.store.view(index)))

    def reset_user(self, request: Request, username: str) -> Response:
        denied = self._unauthorized(request)
        if denied:
            return denied
        index = self._user_index(username)
        if index is None:
            return json_response(404, {"detail": "User not found"})
        self.panel.store.reset(index, enable=self.reset_enables)
        return json_response(200, self.render(self.panel.store.view(index)))

    def system(self, request: Request) -> Response:
        denied = self._unauthorized(request)
        if denied:
            return denied
        store = self.panel.store
        views = [store.view(index) for index in store.indices()]
        return json_response(200, {
            "version": self.panel.spec.version,
            "mem_total": 8 * 1024**3,
            "mem_used": 1024**3,
            "cpu_cores": 2,
            "cpu_usage": 3.5,
            "total_user": len(views),
            "online_users": 0,
            "users_active": sum(1 for view in views if view.active),
            "users_on_hold": 0,
            "users_disabled": sum(1 for view in views if not view.enabled),
            "users_expired": 0,
            "users_limited": sum(1 for view in views if view.enabled and view.limited),
            "incoming_bandwidth": 0,
            "outgoing_bandwidth": 0,
            "incoming_bandwidth_speed": 0,
            "outgoing_bandwidth_speed": 0,
        })
