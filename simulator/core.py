"""The simulator's Python API: start panels, change their state, read it back."""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from simulator.panel import PanelSpec, SimulatedPanel
from simulator.tls import make_server_context

logger = logging.getLogger(__name__)


class Simulator:
    """A set of simulated panels on 127.0.0.1, one server thread each.

    Use it as a context manager; each panel's URL is `url_for(name)`. Every
    method that names a user raises KeyError when the panel has no such user.
    """

    def __init__(self, panels: Iterable[PanelSpec]):
        self._panels: dict[str, SimulatedPanel] = {}
        for spec in panels:
            if spec.name in self._panels:
                raise ValueError(f"duplicate simulated panel name {spec.name!r}")
            self._panels[spec.name] = SimulatedPanel(spec)
        self._tls_dir: tempfile.TemporaryDirectory[str] | None = None
        self.running = False

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Simulator:
        """Build a simulator from the CLI's JSON data: {"panels": [PanelSpec fields, ...]}."""
        panels = config.get("panels")
        if not isinstance(panels, list) or not panels:
            raise ValueError("simulator config must have a non-empty 'panels' list")
        return cls(PanelSpec.from_dict(panel) for panel in panels)

    def start(self) -> Simulator:
        tls = None
        if any(panel.spec.tls for panel in self._panels.values()):
            self._tls_dir = tempfile.TemporaryDirectory(prefix="panel-simulator-")
            tls = make_server_context(Path(self._tls_dir.name))
        for panel in self._panels.values():
            panel.start(tls)
            logger.info("simulated %s panel %r at %s", panel.spec.type, panel.spec.name, panel.url)
        self.running = True
        return self

    def stop(self) -> None:
        for panel in self._panels.values():
            panel.stop()
        if self._tls_dir is not None:
            self._tls_dir.cleanup()
            self._tls_dir = None
        self.running = False

    def __enter__(self) -> Simulator:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def panel(self, name: str) -> SimulatedPanel:
        try:
            return self._panels[name]
        except KeyError:
            raise KeyError(f"no simulated panel {name!r}; known: {sorted(self._panels)}") from None

    @property
    def panel_names(self) -> list[str]:
        return list(self._panels)

    def url_for(self, name: str) -> str:
        """Return the panel's base URL, including the 3x-ui web base path."""
        return self.panel(name).url

    # Users.

    def add_user(self, name: str, username: str, *, used: int = 0, lifetime: int | None = None,
                 rate: float = 0.0, enabled: bool = True) -> None:
        """Add a user whose counters grow by `rate` bytes a second while it may connect."""
        self.panel(name).store.add(username, used=used, lifetime=lifetime, rate=rate, enabled=enabled)

    def remove_user(self, name: str, username: str) -> None:
        self.panel(name).store.remove(username)

    def set_counters(self, name: str, username: str, used: int, lifetime: int | None = None) -> None:
        store = self.panel(name).store
        store.set_counters(store.require(username), used, lifetime)

    def set_rate(self, name: str, username: str, rate: float) -> None:
        store = self.panel(name).store
        store.set_rate(store.require(username), rate)

    def reset_user(self, name: str, username: str) -> None:
        """Reset as the panel would: used to 0, lifetime kept, data limit cleared.

        On Marzban the reset also switches a disabled user on again.
        """
        panel = self.panel(name)
        panel.store.reset(panel.store.require(username), enable=panel.app.reset_enables)

    def set_limited(self, name: str, username: str, limited: bool = True) -> None:
        """Mark the user as stopped by the panel at its data limit (or clear the mark)."""
        store = self.panel(name).store
        store.set_limited(store.require(username), limited)

    def user_state(self, name: str, username: str) -> dict[str, Any]:
        """Return used, lifetime, enabled (the admin switch) and limited, without adding traffic."""
        store = self.panel(name).store
        view = store.view(store.require(username))
        return {"used": view.used, "lifetime": view.lifetime, "enabled": view.enabled, "limited": view.limited}

    def user_enabled(self, name: str, username: str) -> bool:
        """Return the user's admin switch as the panel stores it."""
        return bool(self.user_state(name, username)["enabled"])

    def user_count(self, name: str) -> int:
        return len(self.panel(name).store)

    # Faults and behaviour.

    def set_fault(self, name: str, kind: str, *, count: int | None = None, path: str | None = None,
                  status: int | None = None) -> None:
        """Respond to the next `count` requests (all when None) whose path contains `path` with a fault.

        The kinds are listed in simulator.faults.RESPONSE_FAULTS.
        """
        self.panel(name).faults.add(kind, count=count, path=path, status=status)

    def clear_faults(self, name: str) -> None:
        self.panel(name).faults.clear()

    def set_counter_fault(self, name: str, username: str, kind: str | None) -> None:
        """Send a broken used counter for this user (see simulator.faults.COUNTER_FAULTS)."""
        store = self.panel(name).store
        store.set_counter_fault(store.require(username), kind)

    def set_latency(self, name: str, seconds: float) -> None:
        self.panel(name).latency = seconds

    def set_error_rate(self, name: str, rate: float) -> None:
        self.panel(name).faults.error_rate = rate

    def expire_tokens(self, name: str) -> None:
        """Invalidate every token and session, so the next API call is treated as unauthenticated."""
        self.panel(name).tokens.expire_all()

    def login_count(self, name: str) -> int:
        """Return how many tokens or sessions the panel has issued."""
        return self.panel(name).tokens.issued_count

    # Request counters.

    def request_counts(self, name: str) -> dict[str, int]:
        """Return requests received per endpoint, keyed like "GET /api/users"."""
        return self.panel(name).request_counts()

    def total_requests(self, name: str) -> int:
        return sum(self.request_counts(name).values())

    def reset_request_counts(self, name: str) -> None:
        self.panel(name).reset_request_counts()
