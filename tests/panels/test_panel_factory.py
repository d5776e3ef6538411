"""create_client's choice of client class."""

from __future__ import annotations

import pytest

from panels import PanelSettings, create_client
from panels.marzban import MarzbanClient
from panels.marzneshin import MarzneshinClient
from panels.xui import XuiClient
from worker.errors import ConfigurationError


def settings_of(panel_type: str) -> PanelSettings:
    return PanelSettings(id=1, name="main", type=panel_type, base_url="http://127.0.0.1:9",
                         username="admin", password="secret")


@pytest.mark.parametrize(("panel_type", "client_class"), [
    ("marzban", MarzbanClient), ("marzneshin", MarzneshinClient), ("xui", XuiClient),
])
def test_type_selects_client(panel_type, client_class):
    with create_client(settings_of(panel_type)) as client:
        assert isinstance(client, client_class)


def test_unknown_type_rejected():
    with pytest.raises(ConfigurationError, match="unknown type 'hiddify'; expected one of marzban"):
        create_client(settings_of("hiddify"))
