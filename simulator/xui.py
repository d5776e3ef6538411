"""3x-ui's web API as the simulator serves it, for versions 2.6 to 3.x.

The `version` of the panel spec decides the routes and behaviours, as in the
3x-ui source. /csrf-token, the CSRF check and API tokens start at 3.0.0, the
clients API at 3.1.0, and `allTime` is sent from 2.6.7 to 3.0.x. The status
of an unauthenticated API call also depends on it (see
`XuiApp._unauthenticated`).
"""

from __future__ import annotations

import json
import secrets
import threading
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from simulator.faults import corrupt_counter
from simulator.http import Request, Response, Router, json_response
from simulator.store import UserView

if TYPE_CHECKING:
    from simulator.panel import SimulatedPanel

MAX_PAGE_SIZE = 200
DEFAULT_PAGE_SIZE = 25
INBOUND_ID = 1
SESSION_COOKIE = "3x-ui"
_CREATED_MS = 1_735_689_600_000


@dataclass
class _Session:
    csrf: str | None = None
    token: str | None = None  # a TokenStore token while logged in


def _envelope(obj: Any = None, msg: str = "", success: bool = True) -> Response:
    return json_response(200, {"success": success, "msg": msg, "obj": obj})


def _not_found() -> Response:
    return Response(404, b"404 page not found", "text/plain")


class XuiApp:
    """Routes and handlers for one simulated 3x-ui panel."""

    reset_enables = False  # a reset clears the traffic limit, not the admin switch

    def __init__(self, panel: SimulatedPanel):
        self.panel = panel
        version = panel.version
        self.csrf = version >= (3, 0, 0)
        self.api_tokens = version >= (3, 0, 0)
        self.clients_api = version >= (3, 1, 0)
        self.all_time = (2, 6, 7) <= version < (3, 1, 0)
        self._sessions: dict[str, _Session] = {}
        self._lock = threading.Lock()
        self.router = Router()
        if self.csrf:
            self.router.add("GET", "/csrf-token", self.csrf_token)
        self.router.add("POST", "/login", self.login)
        self.router.add("GET", "/panel/api/inbounds/list", self.list_inbounds)
        self.router.add("POST", "/panel/api/inbounds/updateClient/{key}", self.update_inbound_client)
        self.router.add("POST", "/panel/api/inbounds/{inbound}/resetClientTraffic/{email}", self.reset_traffic)
        self.router.add("GET", "/panel/api/server/status", self.server_status)
        if self.clients_api:
            self.router.add("GET", "/panel/api/clients/list/paged", self.list_clients_paged)
            self.router.add("GET", "/panel/api/clients/get/{email}", self.get_client)
            self.router.add("POST", "/panel/api/clients/update/{email}", self.update_client)
            self.router.add("POST", "/panel/api/clients/resetTraffic/{email}", self.reset_traffic)

    def not_found(self, request: Request) -> Response:
        return _not_found()

    # Sessions, login and access checks.

    def _session(self, request: Request) -> _Session | None:
        sid = request.cookie(SESSION_COOKIE)
        with self._lock:
            return self._sessions.get(sid) if sid else None

    def _session_or_new(self, request: Request) -> tuple[_Session, list[tuple[str, str]]]:
        session = self._session(request)
        if session is not None:
            return session, []
        sid = secrets.token_urlsafe(24)
        with self._lock:
            session = self._sessions[sid] = _Session()
        cookie = f"{SESSION_COOKIE}={sid}; Path=/; HttpOnly; SameSite=Lax"
        return session, [("Set-Cookie", cookie)]

    def _csrf_ok(self, request: Request, session: _Session | None) -> bool:
        sent = request.headers.get("X-CSRF-Token") or request.form().get("_csrf")
        return bool(session and session.csrf and sent == session.csrf)

    def _unauthenticated(self, request: Request) -> Response:
        """Return the response this version gives to a call without a valid session."""
        version = self.panel.version
        if (2, 8, 4) <= version < (3, 0, 2):
            return Response(404)  # these versions hide the API from everyone unauthenticated
        if request.headers.get("X-Requested-With") == "XMLHttpRequest":
            if version <= (2, 8, 3):
                return json_response(401, {"success": False, "msg": "Please login again", "obj": None})
            return Response(401)
        if version <= (2, 8, 3):
            return Response(307, headers=[("Location", self.panel.spec.base_path)])
        return Response(404)

    def _deny(self, request: Request) -> Response | None:
        """Return the response to an unauthorized /panel/api call, or None to proceed."""
        token = request.bearer_token()
        api_token = self.panel.spec.api_token
        if self.api_tokens and api_token and token == api_token:
            return None  # bearer callers skip the session and CSRF checks
        session = self._session(request)
        if session is None or not self.panel.tokens.check(session.token):
            return self._unauthenticated(request)
        if self.csrf and request.method == "POST" and not self._csrf_ok(request, session):
            return Response(403)
        return None

    def csrf_token(self, request: Request) -> Response:
        session, cookies = self._session_or_new(request)
        if session.csrf is None:
            session.csrf = secrets.token_urlsafe(32)
        response = _envelope(session.csrf)
        response.headers.extend(cookies)
        return response

    def login(self, request: Request) -> Response:
        session, cookies = self._session_or_new(request)
        if self.csrf and not self._csrf_ok(request, session):
            return Response(403, headers=cookies)
        form = request.form()
        spec = self.panel.spec
        if form.get("username") != spec.username or form.get("password") != spec.password:
            response = _envelope(msg="Invalid username or password.", success=False)
        else:
            session.token = self.panel.tokens.issue()
            response = _envelope(msg="Login Successfully")
        response.headers.extend(cookies)
        return response

    # Rendering.

    def _key(self, user: UserView) -> str:
        if self.panel.spec.inbound_protocol == "trojan":
            return uuid.uuid5(uuid.NAMESPACE_DNS, user.username).hex
        return str(uuid.uuid5(uuid.NAMESPACE_URL, user.username))

    def _client_settings(self, user: UserView) -> dict[str, Any]:
        key_field = "password" if self.panel.spec.inbound_protocol == "trojan" else "id"
        return {
            key_field: self._key(user), "flow": "", "email": user.username, "limitIp": 0,
            "totalGB": 0, "expiryTime": 0, "enable": user.enabled, "tgId": 0,
            "subId": f"{user.index:016x}", "comment": "", "reset": 0,
        }

    def _traffic(self, user: UserView, with_all_time: bool) -> dict[str, Any]:
        up = user.used // 3
        traffic: dict[str, Any] = {
            "id": user.index + 1, "inboundId": INBOUND_ID, "enable": not user.limited,
            "email": user.username, "down": user.used - up, "expiryTime": 0, "total": 0,
            "reset": 0, "lastOnline": 0,
        }
        include, value = corrupt_counter(user.counter_fault, up)
        if include:
            traffic["up"] = value
        if with_all_time:
            traffic["allTime"] = user.lifetime
        return traffic

    def _read_all(self) -> list[UserView]:
        return [self.panel.read_user(index) for index in self.panel.store.indices()]

    # The inbounds API (every version).

    def list_inbounds(self, request: Request) -> Response:
        denied = self._deny(request)
        if denied:
            return denied
        users = self._read_all()
        settings: Any = {"clients": [self._client_settings(user) for user in users], "decryption": "none"}
        if not self.clients_api:
            settings = json.dumps(settings, indent=2)  # a JSON text before 3.1
        inbound = {
            "id": INBOUND_ID, "up": 0, "down": 0, "total": 0, "remark": "simulated", "enable": True,
            "expiryTime": 0, "clientStats": [self._traffic(user, self.all_time) for user in users],
            "listen": "", "port": 443, "protocol": self.panel.spec.inbound_protocol,
            "settings": settings, "streamSettings": "{}", "tag": "inbound-443", "sniffing": "{}",
        }
        return _envelope([inbound])

    def update_inbound_client(self, request: Request, key: str) -> Response:
        denied = self._deny(request)
        if denied:
            return denied
        form = request.form()
        try:
            client = json.loads(form.get("settings") or "")["clients"][0]
        except (ValueError, KeyError, IndexError, TypeError):
            return _envelope(msg="Something went wrong (invalid settings)", success=False)
        index = self.panel.store.index_of(str(client.get("email")))
        if str(form.get("id")) != str(INBOUND_ID) or index is None:
            return _envelope(msg="Something went wrong (record not found)", success=False)
        user = self.panel.store.view(index)
        key_field = "password" if self.panel.spec.inbound_protocol == "trojan" else "id"
        if key != self._key(user) or client.get(key_field) != key:
            return _envelope(msg="Something went wrong (empty client ID)", success=False)
        self.panel.store.set_enabled(index, client.get("enable") is True)
        self.panel.store.set_limited(index, False)  # saving a client sets its traffic row enabled
        return _envelope(msg="Client updated")

    def reset_traffic(self, request: Request, email: str, inbound: str | None = None) -> Response:
        denied = self._deny(request)
        if denied:
            return denied
        index = self.panel.store.index_of(email)
        if index is None:
            return _envelope(msg="Something went wrong (record not found)", success=False)
        self.panel.store.reset(index, enable=self.reset_enables)
        return _envelope(msg="Traffic has been reset")

    def server_status(self, request: Request) -> Response:
        denied = self._deny(request)
        if denied:
            return denied
        status: dict[str, Any] = {
            "cpu": 1.5, "cpuCores": 2, "mem": {"current": 1 << 30, "total": 8 << 30},
            "xray": {"state": "running", "errorMsg": "", "version": "25.9.11"}, "uptime": 3600,
        }
        if self.clients_api:
            status["panelVersion"] = self.panel.spec.version
        return _envelope(status)

    # The clients API (3.1 on).

    def list_clients_paged(self, request: Request) -> Response:
        denied = self._deny(request)
        if denied:
            return denied
        page_text, size_text = request.arg("page", ""), request.arg("pageSize", "")
        page = int(page_text) if (page_text or "").isdigit() and int(page_text) > 0 else 1
        size = int(size_text) if (size_text or "").isdigit() and int(size_text) > 0 else DEFAULT_PAGE_SIZE
        size = min(size, MAX_PAGE_SIZE)
        indices = self.panel.store.indices()
        chunk = indices[(page - 1) * size:page * size]
        items = [self._page_item(self.panel.read_user(index)) for index in chunk]
        # NOTE: the summary has the real fields but is not computed, to keep
        # paging a large simulated panel cheap.
        summary = {"total": len(indices), "active": 0, "online": [], "depleted": [], "expiring": [], "deactive": []}
        return _envelope({
            "items": items, "total": len(indices), "filtered": len(indices),
            "page": page, "pageSize": size, "summary": summary,
        })

    def _page_item(self, user: UserView) -> dict[str, Any]:
        return {
            "email": user.username, "subId": f"{user.index:016x}", "enable": user.enabled,
            "totalGB": 0, "expiryTime": 0, "limitIp": 0, "reset": 0, "inboundIds": [INBOUND_ID],
            "traffic": self._traffic(user, with_all_time=False),
            "createdAt": _CREATED_MS, "updatedAt": _CREATED_MS,
        }

    def _record(self, user: UserView) -> dict[str, Any]:
        trojan = self.panel.spec.inbound_protocol == "trojan"
        return {
            "id": user.index + 1, "email": user.username, "subId": f"{user.index:016x}",
            "uuid": "" if trojan else self._key(user), "password": self._key(user) if trojan else "",
            "auth": "", "flow": "", "security": "", "reverse": None, "limitIp": 0, "totalGB": 0,
            "expiryTime": 0, "enable": user.enabled, "tgId": 0, "comment": "", "reset": 0,
            "createdAt": _CREATED_MS, "updatedAt": _CREATED_MS,
        }

    def get_client(self, request: Request, email: str) -> Response:
        denied = self._deny(request)
        if denied:
            return denied
        index = self.panel.store.index_of(email)
        if index is None:
            return _envelope(msg="Failed to obtain (record not found)", success=False)
        return _envelope({"client": self._record(self.panel.store.view(index)), "inboundIds": [INBOUND_ID]})

    def update_client(self, request: Request, email: str) -> Response:
        denied = self._deny(request)
        if denied:
            return denied
        body = request.json()
        index = self.panel.store.index_of(email)
        if index is None:
            return _envelope(msg="Something went wrong (record not found)", success=False)
        if not isinstance(body, dict) or not body.get("email"):
            return _envelope(msg="Something went wrong (client email is required)", success=False)
        user = self.panel.store.view(index)
        key_field = "password" if self.panel.spec.inbound_protocol == "trojan" else "id"
        if body.get(key_field) != self._key(user):
            # The real panel would store the new key (a random one when it is missing),
            # which breaks the user's links.
            return _envelope(msg="Something went wrong (simulator: client key changed)", success=False)
        self.panel.store.set_enabled(index, body.get("enable") is True)
        return _envelope(msg="Client updated")
