"""Small helpers that create rows for tests."""

from __future__ import annotations

from models import Panel, Reseller, ResellerConfig

GIB = 1024**3


def make_panel(name: str = "panel-1", type: str = "marzban", base_url: str = "http://127.0.0.1:9",
               password: str = "secret", **fields) -> Panel:
    return Panel.create(name=name, type=type, base_url=base_url, username="admin", password=password, **fields)


def make_reseller(name: str = "reseller", type: str = "traffic", quota: int = 10 * GIB, **fields) -> Reseller:
    return Reseller.create(name=name, type=type, traffic_total_bytes=quota, **fields)


def make_config(reseller: Reseller, panel: Panel, username: str, **fields) -> ResellerConfig:
    return ResellerConfig.create(reseller=reseller, panel=panel, panel_username=username, **fields)
