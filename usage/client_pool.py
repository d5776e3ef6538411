"""One panel client per panel for the whole run: log in once, reuse it for reads and remote operations."""

from __future__ import annotations

import threading

from models import Panel
from panels import PanelClient, PanelSettings, create_client
from usage.panel_settings import panel_settings

ClientFactory = type(create_client)


class ClientPool:
    def __init__(self, client_factory=create_client):
        self.client_factory = client_factory
        self._clients: dict[int, PanelClient] = {}
        self._settings: dict[int, PanelSettings] = {}
        self._lock = threading.Lock()

    def add(self, panel: Panel) -> PanelSettings:
        settings = panel_settings(panel)
        self._settings[panel.id] = settings
        return settings

    def client(self, panel_id: int) -> PanelClient:
        """Return the panel's client, creating it on first use (creation may raise ConfigurationError)."""
        with self._lock:
            if panel_id not in self._clients:
                self._clients[panel_id] = self.client_factory(self._settings[panel_id])
            return self._clients[panel_id]

    def settings(self, panel_id: int) -> PanelSettings:
        return self._settings[panel_id]

    def request_count(self) -> int:
        return sum(client.request_count for client in self._clients.values())

    def close(self) -> None:
        for client in self._clients.values():
            client.close()
        self._clients.clear()
