"""Building a client's PanelSettings from a `panels` row."""

from __future__ import annotations

from models import Panel
from panels import PanelSettings


def panel_settings(panel: Panel) -> PanelSettings:
    return PanelSettings(
        id=panel.id,
        name=panel.name,
        type=panel.type,
        base_url=panel.base_url,
        username=panel.username,
        password=panel.password,
        verify_tls=panel.verify_tls,
        api_token=panel.api_token,
        max_concurrent_requests=panel.max_concurrent_requests,
    )
