"""One simulated panel: its settings, users, faults and HTTP server thread."""

from __future__ import annotations

import ssl
import threading
from collections import Counter
from dataclasses import dataclass, field, fields
from typing import Any

from simulator.auth import TokenStore
from simulator.faults import FaultPlan
from simulator.http import Request
from simulator.marzban import MarzbanApp
from simulator.marzneshin import MarzneshinApp
from simulator.server import PanelHTTPServer, PanelRequestHandler, send_fault
from simulator.store import UserStore, UserView
from simulator.xui import XuiApp

APPS = {"marzban": MarzbanApp, "marzneshin": MarzneshinApp, "xui": XuiApp}
DEFAULT_VERSIONS = {"marzban": "0.8.4", "marzneshin": "0.7.4", "xui": "3.2.0"}


def parse_version(text: str) -> tuple[int, ...]:
    """Parse "3.0.2" or "v0.8.4" into a tuple of ints."""
    try:
        return tuple(int(part) for part in text.lstrip("v").split("."))
    except ValueError:
        raise ValueError(f"invalid panel version {text!r}; expected numbers like '3.0.2'") from None


@dataclass
class PanelSpec:
    """Settings of one simulated panel; also the shape of a panel in the CLI's JSON file."""

    name: str
    type: str  # "marzban" | "marzneshin" | "xui"
    username: str = "admin"
    password: str = field(default="admin", repr=False)
    port: int = 0  # 0 picks a free port
    latency: float = 0.0  # seconds added before each response
    error_rate: float = 0.0  # share of requests that get 503, from 0 to 1
    version: str | None = None  # defaults to DEFAULT_VERSIONS[type]
    base_path: str = "/"  # 3x-ui's web base path
    tls: bool = False  # serve HTTPS with a self-signed certificate
    token_ttl_seconds: float | None = None
    token_max_requests: int | None = None
    api_token: str | None = field(default=None, repr=False)  # 3x-ui 3.0+ bearer token
    hang_seconds: float = 5.0  # how long the "timeout" fault waits
    bytes_per_read: int = 0  # traffic added to a user each time a listing reads it
    inbound_protocol: str = "vless"  # 3x-ui inbound protocol: "vless" or "trojan"
    seed: int | None = None  # for the random 5xx responses
    users: list[dict[str, Any]] = field(default_factory=list)  # UserStore.add keyword arguments
    generated_users: dict[str, Any] | None = None  # UserStore.add_generated keyword arguments

    def __post_init__(self) -> None:
        if self.type not in APPS:
            raise ValueError(f"panel {self.name!r}: unknown type {self.type!r}; expected one of {sorted(APPS)}")
        if self.version is None:
            self.version = DEFAULT_VERSIONS[self.type]
        if not self.base_path.startswith("/"):
            self.base_path = "/" + self.base_path
        if not self.base_path.endswith("/"):
            self.base_path += "/"

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PanelSpec:
        known = {spec_field.name for spec_field in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"panel {data.get('name')!r}: unknown keys {unknown}; expected some of {sorted(known)}")
        return cls(**data)


class SimulatedPanel:
    """A panel's state and server; handlers call `handle` from their threads."""

    def __init__(self, spec: PanelSpec):
        self.spec = spec
        self.version = parse_version(spec.version or "")
        self.store = UserStore()
        self.tokens = TokenStore(spec.token_ttl_seconds, spec.token_max_requests)
        self.faults = FaultPlan(spec.error_rate, spec.seed)
        self.latency = spec.latency
        self.stop_event = threading.Event()
        self._counts: Counter[str] = Counter()
        self._counts_lock = threading.Lock()
        self.app = APPS[spec.type](self)
        if spec.generated_users:
            self.store.add_generated(**spec.generated_users)
        for user in spec.users:
            self.store.add(**user)
        self._server: PanelHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError(f"simulated panel {self.spec.name!r} is not running")
        scheme = "https" if self.spec.tls else "http"
        port = self._server.server_address[1]
        return f"{scheme}://127.0.0.1:{port}{self.spec.base_path.rstrip('/')}"

    def start(self, tls: ssl.SSLContext | None) -> None:
        self.stop_event.clear()
        self._server = PanelHTTPServer(self.spec.port, self, tls if self.spec.tls else None)
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.01},
            name=f"simulator-{self.spec.name}", daemon=True,
        )
        self._thread.start()

    def stop(self) -> None:
        self.stop_event.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = None
        self._thread = None

    def read_user(self, index: int) -> UserView:
        """Return a user's state as a listing reports it, adding `bytes_per_read`."""
        return self.store.view(index, self.spec.bytes_per_read)

    def request_counts(self) -> dict[str, int]:
        with self._counts_lock:
            return dict(self._counts)

    def reset_request_counts(self) -> None:
        with self._counts_lock:
            self._counts.clear()

    def handle(self, request: Request, writer: PanelRequestHandler) -> None:
        """Count, delay, route and respond to one request, or inject a fault."""
        base = self.spec.base_path
        if not (request.path + "/").startswith(base):
            writer.send(self.app.not_found(request))
            return
        request.path = "/" + request.path[len(base):]
        matched = self.app.router.match(request.method, request.path)
        endpoint = f"{request.method} {matched[0].template if matched else request.path}"
        with self._counts_lock:
            self._counts[endpoint] += 1
        if self.latency > 0:
            self.stop_event.wait(self.latency)
        fault = self.faults.take(request.path)
        if fault is not None:
            send_fault(fault, request, writer, self.stop_event, self.spec.hang_seconds)
            return
        if matched is None:
            writer.send(self.app.not_found(request))
            return
        route, params = matched
        writer.send(route.handler(request, **params))

