"""Client for 3x-ui (MHSanaei/3x-ui), both API generations.

Checked against the 3x-ui source at tags v2.6.7, v2.8.3, v2.8.4, v2.9.4,
v3.0.0, v3.0.1, v3.0.2, v3.1.0, v3.5.0, v3.6.0 and master of August 2026
(web/controller, web/service, web/session, database/model, xray):

Login (session mode). POST {base}/login with the form fields username and
password returns HTTP 200 with {"success": true|false, "msg", "obj"} and
keeps the session in a cookie. From 3.0.0 on, the login needs a CSRF token:
GET {base}/csrf-token returns it in `obj` and starts the session, and every
POST carries it in X-CSRF-Token; the session keeps the same token after the
login. Older versions have no /csrf-token route (404) and no CSRF check.
From 3.0.0 on, `Authorization: Bearer <API token>` authenticates
/panel/api without a session or CSRF token; with `settings.api_token` this
client uses it and never logs in.

Unauthenticated calls under /panel/api get 401 when the request carries
`X-Requested-With: XMLHttpRequest` (up to 2.8.3, and from 3.0.2 on), but 404
whatever the headers on 2.8.4 to 3.0.1. This client always sends the header,
probes the v3 route once right after login (so a 404 there means the route
is missing), and on the v2 generation treats a 404 as a possibly expired
session: one new login, then the 404 counts as an error.

v2 generation (up to 3.0.x): GET /panel/api/inbounds/list returns inbounds
with `protocol`, `settings` (JSON text whose `clients` have `email`,
`enable` and the key `id`, `password` or `auth`) and `clientStats` rows
(`email`, `up`, `down`, `enable`, and `allTime` from 2.6.7 to 3.0.x). Used
bytes are up + down, lifetime bytes are allTime. A client is switched with
POST /panel/api/inbounds/updateClient/{key}, form fields `id` (the inbound)
and `settings` ({"clients": [client]}); the key is the client's `id` (vmess,
vless), `password` (trojan), `email` (shadowsocks) or `auth` (hysteria).

v3 generation (3.1 on): GET /panel/api/clients/list/paged?page=&pageSize=
(the panel caps pageSize at 200) returns obj {items, total, filtered, page,
pageSize}; items have `email`, `enable` and `traffic` {up, down, enable}.
There is no lifetime counter. A client is switched by GET
/panel/api/clients/get/{email} and POST /panel/api/clients/update/{email}
with the whole client and `enable` changed, because bulkEnable and
bulkDisable exist only from 3.5.0.
"""

from __future__ import annotations

import json
import logging
import math
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from panels.base import PanelInfo, PanelSettings, UserUsage
from panels.batching import UsageResult, unique
from panels.http_client import HttpPanelClient
from panels.json_shapes import preview, require_int, require_list, require_object, require_str
from panels.xui_records import (
    client_key,
    client_payload_from_record,
    index_inbound_clients,
    is_not_found_failure,
    unwrap_envelope,
    usage_from_inbound_client,
    usage_from_page_item,
)
from worker.errors import PanelAuthError, PanelError, PanelResponseError, PanelUserNotFoundError

logger = logging.getLogger(__name__)

V3_CLIENTS_PAGED = "/panel/api/clients/list/paged"
V2_INBOUNDS_LIST = "/panel/api/inbounds/list"
PAGE_SIZE = 200  # the panel's own maximum for clients/list/paged
# On 2.8.4-3.0.1 an expired session gets 404, so v2 calls log in again on it too.
V2_REAUTH_STATUSES = (401, 404)


@dataclass(frozen=True)
class ClientPage:
    """One page of clients/list/paged."""

    items: list[dict[str, Any]]
    total: int
    filtered: int


class XuiClient(HttpPanelClient):
    """3x-ui 2.x and 3.x; `generation` is 2 or 3 once detected."""

    def __init__(self, settings: PanelSettings):
        self._csrf_token: str | None = None
        self._generation: int | None = None
        self._generation_lock = threading.Lock()
        super().__init__(settings, headers={"X-Requested-With": "XMLHttpRequest"})

    @property
    def generation(self) -> int | None:
        return self._generation

    def _auth_headers(self) -> dict[str, str]:
        if self.settings.api_token:
            return {"Authorization": f"Bearer {self.settings.api_token}"}
        return {"X-CSRF-Token": self._csrf_token} if self._csrf_token else {}

    def _authenticate(self) -> None:
        if self.settings.api_token:
            return
        self._http.clear_cookies()
        self._csrf_token = None
        token = self._fetch_csrf_token()
        result = self._http.send(
            "POST", "/login",
            data={"username": self.settings.username, "password": self.settings.password},
            headers={"X-CSRF-Token": token} if token else None,
            authenticated=False, secret=True,
        )
        body = require_object(result.json(), "login response", self.settings.id)
        if body.get("success") is not True:
            message = str(body.get("msg", ""))
            excerpt = "" if self.settings.password in message else f": {preview(message)}"
            raise PanelAuthError(
                f"3x-ui panel {self.settings.name!r} rejected the login of user "
                f"{self.settings.username!r}{excerpt}; check the username and password, and that "
                "two-factor authentication is off for this account",
                panel_id=self.settings.id,
            )
        self._csrf_token = token
        logger.info("logged in to 3x-ui panel %s as %r", self.settings.id, self.settings.username)

    def _fetch_csrf_token(self) -> str | None:
        result = self._http.send(
            "GET", "/csrf-token", authenticated=False, accept_statuses=(404,), secret=True
        )
        if result.status_code == 404:
            return None  # 3x-ui before 3.0.0 has no CSRF protection
        token = unwrap_envelope(result.json(), "GET /csrf-token", self.settings.id)
        if not isinstance(token, str) or not token:
            raise PanelResponseError(
                "GET /csrf-token: expected a non-empty string in 'obj'", panel_id=self.settings.id
            )
        return token

    def _detect_generation(self) -> ClientPage | None:
        """Set `generation` on first use; return the probe's first page on v3."""
        with self._generation_lock:
            if self._generation is not None:
                return None
            result = self._http.send(
                "GET", V3_CLIENTS_PAGED, params={"page": "1", "pageSize": str(PAGE_SIZE)},
                accept_statuses=(404,),
            )
            if result.status_code == 404:
                self._generation = 2
                logger.info("3x-ui panel %s has no clients API; using the inbounds API", self.settings.id)
                return None
            self._generation = 3
            return self._parse_page(result.json(), 1)

    def _parse_page(self, body: Any, page: int) -> ClientPage:
        context = f"GET {V3_CLIENTS_PAGED} page {page}"
        obj = require_object(unwrap_envelope(body, context, self.settings.id), context, self.settings.id)
        items = require_list(obj.get("items"), f"{context} field 'items'", self.settings.id)
        total = require_int(obj.get("total"), f"{context} field 'total'", self.settings.id)
        filtered = obj.get("filtered", total)
        filtered = require_int(filtered, f"{context} field 'filtered'", self.settings.id)
        records = [require_object(item, f"{context} item", self.settings.id) for item in items]
        return ClientPage(records, total, filtered)

    def _fetch_page(self, page: int, page_size: int = PAGE_SIZE) -> ClientPage:
        params = {"page": str(page), "pageSize": str(page_size)}
        result = self._http.send("GET", V3_CLIENTS_PAGED, params=params)
        return self._parse_page(result.json(), page)

    def _list_inbounds(self) -> list[Any]:
        result = self._http.send("GET", V2_INBOUNDS_LIST, reauth_statuses=V2_REAUTH_STATUSES)
        obj = unwrap_envelope(result.json(), f"GET {V2_INBOUNDS_LIST}", self.settings.id)
        return [] if obj is None else require_list(obj, f"GET {V2_INBOUNDS_LIST} obj", self.settings.id)

    def _not_found(self, email: str) -> PanelUserNotFoundError:
        return PanelUserNotFoundError(
            f"client {email!r} not found on 3x-ui panel {self.settings.name!r}",
            panel_id=self.settings.id, username=email,
        )

    def read_usage(self, usernames: Sequence[str]) -> UsageResult:
        self._ensure_login()
        names = unique(usernames)
        try:
            first_page = self._detect_generation()
            if self._generation == 3:
                return self._read_v3(names, first_page)
            return self._read_v2(names)
        except PanelAuthError:
            raise
        except PanelError as exc:
            logger.warning("panel %s: usage of %d clients not read: %s", self.settings.id, len(names), exc)
            return dict.fromkeys(names, exc)

    def _read_v2(self, names: list[str]) -> UsageResult:
        index = index_inbound_clients(self._list_inbounds(), names, self.settings.id)
        results: UsageResult = {}
        for name in names:
            entry = index.get(name)
            if entry is None:
                results[name] = self._not_found(name)
                continue
            try:
                results[name] = usage_from_inbound_client(name, entry, self.settings.id)
            except PanelError as exc:
                results[name] = exc
        return results

    def _read_v3(self, names: list[str], first_page: ClientPage | None) -> UsageResult:
        requested = set(names)
        # Each item is parsed as its page arrives, so a large panel's JSON items are not all held at once.
        found: dict[str, UserUsage | PanelError] = {}
        filtered_counts: set[int] = set()
        page_errors: list[PanelError] = []
        lock = threading.Lock()

        def collect(page: ClientPage) -> None:
            with lock:
                filtered_counts.add(page.filtered)
                for item in page.items:
                    email = item.get("email")
                    if isinstance(email, str) and email in requested:
                        found[email] = self._usage_from_item(email, item)

        def fetch(page_number: int) -> None:
            with lock:
                if len(found) == len(requested):
                    return  # every requested client was on an earlier page
            try:
                collect(self._fetch_page(page_number))
            except PanelAuthError:
                raise
            except PanelError as exc:
                with lock:
                    page_errors.append(exc)

        first = first_page or self._fetch_page(1)
        collect(first)
        page_count = math.ceil(first.filtered / PAGE_SIZE)
        workers = max(1, self.settings.max_concurrent_requests)
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix=f"panel-{self.settings.id}") as pool:
            list(pool.map(fetch, range(2, page_count + 1)))
        return {name: self._v3_result(name, found.get(name), page_errors, filtered_counts) for name in names}

    def _usage_from_item(self, email: str, item: dict[str, Any]) -> UserUsage | PanelError:
        try:
            return usage_from_page_item(email, item, self.settings.id)
        except PanelError as exc:
            return exc

    def _v3_result(
        self, name: str, usage: UserUsage | PanelError | None, page_errors: list[PanelError], counts: set[int]
    ) -> UserUsage | PanelError:
        if usage is not None:
            return usage
        if page_errors:
            return page_errors[0]
        if len(counts) > 1:
            return PanelError(
                f"client {name!r} was not seen because the client list on panel "
                f"{self.settings.name!r} changed while it was read; the next run retries",
                panel_id=self.settings.id, retryable=True,
            )
        return self._not_found(name)

    def disable_user(self, username: str) -> None:
        self._set_enabled(username, False)

    def enable_user(self, username: str) -> None:
        self._set_enabled(username, True)

    def _set_enabled(self, email: str, enable: bool) -> None:
        self._ensure_login()
        self._detect_generation()
        if self._generation == 3:
            changed = self._set_enabled_v3(email, enable)
        else:
            changed = self._set_enabled_v2(email, enable)
        if changed:
            logger.info("panel %s: client %r %s", self.settings.id, email, "enabled" if enable else "disabled")

    def _set_enabled_v2(self, email: str, enable: bool) -> bool:
        entry = index_inbound_clients(self._list_inbounds(), [email], self.settings.id).get(email)
        if entry is None or entry.client is None:
            raise self._not_found(email)
        client_on = entry.client.get("enable") is not False
        traffic_on = entry.stats is None or entry.stats.get("enable") is not False
        # Saving the client also sets clientStats.enable back to true, which
        # is context re-enables a client that the panel disabled at its limit.
        if client_on == enable and (not enable or traffic_on):
            return False
        protocol = entry.inbound.get("protocol")
        key = client_key(protocol, entry.client)
        if not key:
            raise PanelResponseError(
                f"client {email!r} has no key for protocol {protocol!r} in inbound "
                f"{entry.inbound.get('id')!r}, so it cannot be updated",
                panel_id=self.settings.id,
            )
        form = {
            "id": str(entry.inbound.get("id")),
            "settings": json.dumps({"clients": [dict(entry.client, enable=enable)]}),
        }
        path = f"/panel/api/inbounds/updateClient/{quote(key, safe='')}"
        result = self._http.send("POST", path, data=form, reauth_statuses=V2_REAUTH_STATUSES)
        unwrap_envelope(result.json(), f"updateClient for {email!r}", self.settings.id)
        return True

    def _set_enabled_v3(self, email: str, enable: bool) -> bool:
        quoted = quote(email, safe="")
        body = self._http.send("GET", f"/panel/api/clients/get/{quoted}").json()
        if is_not_found_failure(body):
            raise self._not_found(email)
        context = f"GET /panel/api/clients/get for {email!r}"
        obj = require_object(unwrap_envelope(body, context, self.settings.id), context, self.settings.id)
        record = require_object(obj.get("client"), f"{context} field 'client'", self.settings.id)
        # NOTE: only the client's own switch is compared, so enabling a client
        # that the panel disabled at its traffic limit does nothing here.
        if record.get("enable") is enable:
            return False
        payload = client_payload_from_record(record, enable)
        result = self._http.send("POST", f"/panel/api/clients/update/{quoted}", json_body=payload)
        unwrap_envelope(result.json(), f"clients/update for {email!r}", self.settings.id)
        return True

    def check(self) -> PanelInfo:
        self.login()
        first_page = self._detect_generation()
        if self._generation == 3:
            page = first_page or self._fetch_page(1, page_size=1)
            return PanelInfo(version=self._panel_version(), user_count=page.total)
        index = index_inbound_clients(self._list_inbounds(), None, self.settings.id)
        return PanelInfo(version=None, user_count=len(index))

    def _panel_version(self) -> str | None:
        result = self._http.send("GET", "/panel/api/server/status")
        context = "GET /panel/api/server/status"
        status = require_object(unwrap_envelope(result.json(), context, self.settings.id), context, self.settings.id)
        version = status.get("panelVersion")
        if version is None:
            return None
        return require_str(version, f"{context} field 'panelVersion'", self.settings.id)
