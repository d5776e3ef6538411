"""Fixtures that start simulated panels on 127.0.0.1 and clients pointed at them.

Timeouts are short and the backoff sleep is replaced, so a test that exercises
retries or timeouts takes well under a second.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

import panels.http
from panels import PanelClient, PanelSettings, create_client
from simulator import PanelSpec, Simulator

PASSWORD = "S3cret-Panel-Pass!"
PANEL_NAME = "panel"
PANEL_ID = 7


@pytest.fixture(autouse=True)
def backoff_sleeps(monkeypatch) -> list[float]:
    """Record backoff waits instead of sleeping."""
    sleeps: list[float] = []
    monkeypatch.setattr(panels.http, "sleep", sleeps.append)
    return sleeps


def make_settings(sim: Simulator, panel_type: str, **overrides: Any) -> PanelSettings:
    values: dict[str, Any] = {
        "id": PANEL_ID,
        "name": PANEL_NAME,
        "type": panel_type,
        "base_url": sim.url_for(PANEL_NAME),
        "username": "admin",
        "password": PASSWORD,
        "connect_timeout_seconds": 1.0,
        "read_timeout_seconds": 1.0,
        "max_attempts": 3,
        "backoff_seconds": 0.01,
    }
    values.update(overrides)
    return PanelSettings(**values)


@pytest.fixture
def start_panel() -> Iterator[Callable[..., Simulator]]:
    """Start one simulated panel named PANEL_NAME; keyword arguments go to PanelSpec."""
    started: list[Simulator] = []

    def start(panel_type: str, users: tuple[str, ...] = (), **spec: Any) -> Simulator:
        spec.setdefault("password", PASSWORD)
        sim = Simulator([PanelSpec(name=PANEL_NAME, type=panel_type, **spec)]).start()
        started.append(sim)
        for username in users:
            sim.add_user(PANEL_NAME, username)
        return sim

    yield start
    for sim in started:
        sim.stop()


@pytest.fixture
def connect() -> Iterator[Callable[..., PanelClient]]:
    """Create a client for a running simulator; clients are closed after the test."""
    clients: list[PanelClient] = []

    def make(sim: Simulator, panel_type: str, **overrides: Any) -> PanelClient:
        client = create_client(make_settings(sim, panel_type, **overrides))
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()
