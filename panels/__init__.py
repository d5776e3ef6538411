"""Clients for the VPN panels whose users' traffic this service reads.

`create_client` picks the client class for a panel's `type`.
"""

from __future__ import annotations

from panels.base import PanelClient, PanelInfo, PanelSettings, UserUsage
from panels.marzban import MarzbanClient
from panels.marzneshin import MarzneshinClient
from panels.xui import XuiClient
from worker.errors import ConfigurationError

CLIENT_CLASSES: dict[str, type[PanelClient]] = {
    "marzban": MarzbanClient,
    "marzneshin": MarzneshinClient,
    "xui": XuiClient,
}

__all__ = ["PanelClient", "PanelInfo", "PanelSettings", "UserUsage", "create_client"]


def create_client(settings: PanelSettings) -> PanelClient:
    """Return a new client for the panel type in `settings.type`."""
    client_class = CLIENT_CLASSES.get(settings.type)
    if client_class is None:
        raise ConfigurationError(
            f"panel {settings.name!r} has unknown type {settings.type!r}; "
            f"expected one of {', '.join(sorted(CLIENT_CLASSES))}"
        )
    return client_class(settings)
