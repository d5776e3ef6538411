"""The shared HTTP transport, exercised through the Marzban client over real HTTP."""

from __future__ import annotations

import socket
import threading
import time

import pytest

from panels.http import PanelConnectionError, PanelHttp
from tests.panels.conftest import PANEL_NAME, make_settings
from worker.errors import ConfigurationError, PanelAuthError, PanelError, PanelResponseError

USERS_PATH = "/api/users"


def test_retries_5xx_then_succeeds(start_panel, connect, backoff_sleeps):
    sim = start_panel("marzban", users=("alice",))
    client = connect(sim, "marzban")
    client.login()
    sim.set_fault(PANEL_NAME, "error", count=2, path=USERS_PATH)

    result = client.read_usage(["alice"])

    assert result["alice"].used_bytes == 0
    assert sim.request_counts(PANEL_NAME)["GET /api/users"] == 3
    assert backoff_sleeps == [0.01, 0.02]


def test_5xx_on_every_attempt_is_retryable_error(start_panel, connect):
    sim = start_panel("marzban", users=("alice",))
    client = connect(sim, "marzban")
    client.login()
    sim.set_fault(PANEL_NAME, "error", path=USERS_PATH, status=502)

    error = client.read_usage(["alice"])["alice"]

    assert isinstance(error, PanelError)
    assert error.retryable is True
    assert "HTTP 502" in str(error)
    assert sim.request_counts(PANEL_NAME)["GET /api/users"] == 3


def test_4xx_is_not_retried(start_panel, connect, backoff_sleeps):
    sim = start_panel("marzban", users=("alice",))
    client = connect(sim, "marzban")
    client.login()
    sim.set_fault(PANEL_NAME, "error", path=USERS_PATH, status=400)

    error = client.read_usage(["alice"])["alice"]

    assert isinstance(error, PanelResponseError)
    assert sim.request_counts(PANEL_NAME)["GET /api/users"] == 1
    assert backoff_sleeps == []


def test_timeout_is_retried_then_reported(start_panel, connect):
    sim = start_panel("marzban", users=("alice",), hang_seconds=2.0)
    client = connect(sim, "marzban", read_timeout_seconds=0.2, max_attempts=2)
    client.login()
    sim.set_fault(PANEL_NAME, "timeout", path=USERS_PATH)

    started = time.monotonic()
    error = client.read_usage(["alice"])["alice"]

    assert isinstance(error, PanelConnectionError)
    assert "timed out" in str(error)
    assert sim.request_counts(PANEL_NAME)["GET /api/users"] == 2
    assert time.monotonic() - started < 1.5


def test_connection_refused_is_connection_error(connect, start_panel, backoff_sleeps):
    sim = start_panel("marzban")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    client = connect(sim, "marzban", base_url=f"http://127.0.0.1:{closed_port}")

    with pytest.raises(PanelConnectionError) as caught:
        client.login()

    assert caught.value.retryable is True
    assert len(backoff_sleeps) == 2


def test_never_ending_body_cut_at_deadline(start_panel, connect):
    sim = start_panel("marzban", users=("alice",))
    client = connect(sim, "marzban", connect_timeout_seconds=0.3, read_timeout_seconds=0.3, max_attempts=1)
    client.login()
    sim.set_fault(PANEL_NAME, "endless", path=USERS_PATH)
    deadline = 0.3 + 2 * 0.3

    started = time.monotonic()
    error = client.read_usage(["alice"])["alice"]
    elapsed = time.monotonic() - started

    assert isinstance(error, PanelConnectionError)
    assert "deadline" in str(error)
    assert elapsed < deadline + 0.5


def test_100_mib_body_rejected(start_panel, connect):
    sim = start_panel("marzban", users=("alice",))
    client = connect(sim, "marzban", max_attempts=1)
    client.login()
    sim.set_fault(PANEL_NAME, "huge_body", path=USERS_PATH)

    error = client.read_usage(["alice"])["alice"]

    assert isinstance(error, PanelResponseError)
    assert "too large" in str(error)


def test_redirect_loop_rejected(start_panel, connect):
    sim = start_panel("marzban", users=("alice",))
    client = connect(sim, "marzban")
    client.login()
    sim.set_fault(PANEL_NAME, "redirect_loop", path=USERS_PATH)

    error = client.read_usage(["alice"])["alice"]

    assert isinstance(error, PanelResponseError)
    assert "redirect loop" in str(error)


def test_invalid_json_is_response_error(start_panel, connect):
    sim = start_panel("marzban", users=("alice",))
    client = connect(sim, "marzban")
    client.login()
    sim.set_fault(PANEL_NAME, "invalid_json", path=USERS_PATH)

    error = client.read_usage(["alice"])["alice"]

    assert isinstance(error, PanelResponseError)
    assert "invalid JSON" in str(error)


def test_html_page_is_response_error(start_panel, connect):
    sim = start_panel("marzban", users=("alice",))
    client = connect(sim, "marzban")
    client.login()
    sim.set_fault(PANEL_NAME, "html", path=USERS_PATH)

    error = client.read_usage(["alice"])["alice"]

    assert isinstance(error, PanelResponseError)
    assert "HTML page" in str(error)


def test_wrong_shape_is_response_error(start_panel, connect):
    sim = start_panel("marzban", users=("alice",))
    client = connect(sim, "marzban")
    client.login()
    sim.set_fault(PANEL_NAME, "wrong_shape", path=USERS_PATH)

    error = client.read_usage(["alice"])["alice"]

    assert isinstance(error, PanelResponseError)
    assert "expected a JSON object" in str(error)


def test_self_signed_tls_rejected_when_verifying(start_panel, connect, backoff_sleeps):
    sim = start_panel("marzban", tls=True)
    client = connect(sim, "marzban")

    with pytest.raises(PanelError) as caught:
        client.login()

    assert "certificate verification failed" in str(caught.value)
    assert caught.value.retryable is False
    assert backoff_sleeps == []


def test_self_signed_tls_accepted_without_verification(start_panel, connect):
    sim = start_panel("marzban", users=("alice",), tls=True)
    client = connect(sim, "marzban", verify_tls=False)

    assert sim.url_for(PANEL_NAME).startswith("https://")
    assert client.read_usage(["alice"])["alice"].used_bytes == 0


def test_expired_token_logs_in_again(start_panel, connect):
    sim = start_panel("marzban", users=("alice",))
    client = connect(sim, "marzban")
    client.login()
    sim.expire_tokens(PANEL_NAME)

    result = client.read_usage(["alice"])

    assert result["alice"].used_bytes == 0
    assert sim.login_count(PANEL_NAME) == 2


def test_rejected_new_login_raises_auth_error(start_panel, connect):
    sim = start_panel("marzban", users=("alice",))
    client = connect(sim, "marzban")
    client.login()
    sim.panel(PANEL_NAME).spec.password = "changed-on-the-panel"
    sim.expire_tokens(PANEL_NAME)

    with pytest.raises(PanelAuthError, match="check the panel username and password"):
        client.read_usage(["alice"])


def test_request_count_matches_panel(start_panel, connect):
    sim = start_panel("marzban", users=("alice", "bob"))
    client = connect(sim, "marzban")
    client.read_usage(["alice", "bob"])
    client.disable_user("alice")

    assert client.request_count == sim.total_requests(PANEL_NAME)


def test_concurrent_requests_capped(start_panel, connect):
    sim = start_panel("marzban", users=("a0", "a1", "a2", "a3"), latency=0.2)
    client = connect(sim, "marzban", max_concurrent_requests=2)
    client.login()
    threads = [threading.Thread(target=client.disable_user, args=(f"a{i}",)) for i in range(4)]

    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)

    # Each disable is a GET and a PUT of 0.2 s; two slots need 4 rounds.
    assert time.monotonic() - started >= 0.75


def test_base_url_without_scheme_rejected(start_panel, connect):
    sim = start_panel("marzban")

    with pytest.raises(ConfigurationError, match="must start with http:// or https://"):
        connect(sim, "marzban", base_url="127.0.0.1:8000")


def test_stalled_body_cut_at_deadline_before_read_timeout(start_panel):
    sim = start_panel("marzban", hang_seconds=5.0)
    settings = make_settings(sim, "marzban", read_timeout_seconds=3.0, max_attempts=1)
    http = PanelHttp(settings, deadline_seconds=0.3)
    sim.set_fault(PANEL_NAME, "stalled_body")

    started = time.monotonic()
    try:
        with pytest.raises(PanelConnectionError, match="deadline"):
            http.send("GET", USERS_PATH, authenticated=False)
    finally:
        http.close()

    assert time.monotonic() - started < 1.0
