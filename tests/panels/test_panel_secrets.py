"""No password, token or session cookie may reach the logs, even when things fail."""

from __future__ import annotations

import logging

import pytest

from tests.panels.conftest import PANEL_NAME, PASSWORD
from worker.errors import PanelError

API_TOKEN = "xui-api-token-0123456789"


def capture_issued_tokens(sim, monkeypatch) -> list[str]:
    tokens = sim.panel(PANEL_NAME).tokens
    issued: list[str] = []
    original = tokens.issue

    def issue() -> str:
        token = original()
        issued.append(token)
        return token

    monkeypatch.setattr(tokens, "issue", issue)
    return issued


def exercise(sim, client) -> None:
    """Log in, read, lose the session, fail a request, and switch a user."""
    client.read_usage(["alice", "ghost"])
    sim.expire_tokens(PANEL_NAME)
    client.read_usage(["alice"])
    sim.set_fault(PANEL_NAME, "invalid_json", count=1)
    client.read_usage(["alice"])
    client.disable_user("alice")
    client.enable_user("alice")


@pytest.mark.parametrize(("panel_type", "version"), [
    ("marzban", "0.8.4"), ("marzneshin", "0.7.4"), ("xui", "3.2.0"), ("xui", "2.9.4"),
])
def test_secrets_not_logged(start_panel, connect, caplog, monkeypatch, panel_type, version):
    caplog.set_level(logging.DEBUG)
    sim = start_panel(panel_type, users=("alice",), version=version)
    issued = capture_issued_tokens(sim, monkeypatch)
    client = connect(sim, panel_type)

    exercise(sim, client)
    session_cookies = list(client._http._client.cookies.values())

    assert len(issued) == 2
    assert PASSWORD not in caplog.text
    for secret in issued + session_cookies:
        assert secret not in caplog.text


@pytest.mark.parametrize("panel_type", ["marzban", "marzneshin", "xui"])
def test_password_not_in_failed_login_error(start_panel, connect, caplog, panel_type):
    caplog.set_level(logging.DEBUG)
    sim = start_panel(panel_type, password="the-right-one")
    client = connect(sim, panel_type)

    with pytest.raises(PanelError) as caught:
        client.login()

    assert PASSWORD not in str(caught.value)
    assert PASSWORD not in caplog.text


def test_api_token_not_logged(start_panel, connect, caplog):
    caplog.set_level(logging.DEBUG)
    sim = start_panel("xui", users=("alice",), version="3.2.0", api_token=API_TOKEN)
    client = connect(sim, "xui", api_token=API_TOKEN)

    client.read_usage(["alice"])
    client.disable_user("alice")

    assert API_TOKEN not in caplog.text
