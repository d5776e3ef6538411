"""The Marzban client against the simulated Marzban panel."""

from __future__ import annotations

import pytest

from panels.marzban import USERS_PER_REQUEST
from simulator import COUNTER_FAULTS
from tests.panels.conftest import PANEL_NAME
from worker.errors import PanelAuthError, PanelError, PanelResponseError, PanelUserNotFoundError


def test_login_with_wrong_password_fails(start_panel, connect):
    sim = start_panel("marzban")
    client = connect(sim, "marzban", password="wrong")

    with pytest.raises(PanelAuthError, match="rejected the login of user 'admin'"):
        client.login()


def test_bulk_read_returns_counters(start_panel, connect):
    sim = start_panel("marzban")
    sim.add_user(PANEL_NAME, "alice", used=1000, lifetime=5000)
    sim.add_user(PANEL_NAME, "bob", used=7)
    client = connect(sim, "marzban")

    result = client.read_usage(["alice", "bob"])

    assert result["alice"].used_bytes == 1000
    assert result["alice"].lifetime_bytes == 5000
    assert result["alice"].enabled is True
    assert result["bob"].used_bytes == 7
    assert sim.request_counts(PANEL_NAME)["GET /api/users"] == 1


def test_bulk_read_chunks_names(start_panel, connect):
    names = [f"user{i}" for i in range(2 * USERS_PER_REQUEST + 1)]
    sim = start_panel("marzban", users=tuple(names))
    client = connect(sim, "marzban")

    result = client.read_usage(names)

    assert sorted(result) == sorted(names)
    assert sim.request_counts(PANEL_NAME)["GET /api/users"] == 3


def test_missing_user_reported_alone(start_panel, connect):
    sim = start_panel("marzban", users=("alice",))
    client = connect(sim, "marzban")

    result = client.read_usage(["alice", "ghost"])

    assert isinstance(result["ghost"], PanelUserNotFoundError)
    assert result["ghost"].username == "ghost"
    assert result["alice"].used_bytes == 0


@pytest.mark.parametrize("kind", sorted(COUNTER_FAULTS))
def test_bad_counter_is_per_user_error(start_panel, connect, kind):
    sim = start_panel("marzban", users=("alice", "bob"))
    sim.set_counter_fault(PANEL_NAME, "alice", kind)
    client = connect(sim, "marzban")

    result = client.read_usage(["alice", "bob"])

    assert isinstance(result["alice"], PanelResponseError)
    assert "used_traffic" in str(result["alice"])
    assert result["bob"].used_bytes == 0


def test_limited_user_reported_disabled(start_panel, connect):
    sim = start_panel("marzban", users=("alice",))
    sim.set_limited(PANEL_NAME, "alice")
    client = connect(sim, "marzban")

    assert client.read_usage(["alice"])["alice"].enabled is False


def test_disable_user_switches_panel_state(start_panel, connect):
    sim = start_panel("marzban", users=("alice",))
    client = connect(sim, "marzban")

    client.disable_user("alice")

    assert sim.user_enabled(PANEL_NAME, "alice") is False


def test_disable_twice_sends_one_update(start_panel, connect):
    sim = start_panel("marzban", users=("alice",))
    client = connect(sim, "marzban")

    client.disable_user("alice")
    client.disable_user("alice")

    assert sim.request_counts(PANEL_NAME)["PUT /api/user/{username}"] == 1


def test_enable_user_switches_panel_state(start_panel, connect):
    sim = start_panel("marzban")
    sim.add_user(PANEL_NAME, "alice", enabled=False)
    client = connect(sim, "marzban")

    client.enable_user("alice")

    assert sim.user_enabled(PANEL_NAME, "alice") is True


def test_disable_missing_user_raises_not_found(start_panel, connect):
    sim = start_panel("marzban")
    client = connect(sim, "marzban")

    with pytest.raises(PanelUserNotFoundError):
        client.disable_user("ghost")


def test_reset_enables_user_again(start_panel, connect):
    sim = start_panel("marzban")
    sim.add_user(PANEL_NAME, "alice", used=500, enabled=False)
    client = connect(sim, "marzban")

    sim.reset_user(PANEL_NAME, "alice")
    usage = client.read_usage(["alice"])["alice"]

    assert usage.used_bytes == 0
    assert usage.lifetime_bytes == 500
    assert usage.enabled is True


def test_check_reports_version_and_count(start_panel, connect):
    sim = start_panel("marzban", users=("alice", "bob"), version="0.7.0")
    client = connect(sim, "marzban")

    info = client.check()

    assert info.version == "0.7.0"
    assert info.user_count == 2


def test_unreachable_panel_skips_remaining_batches(start_panel, connect):
    names = [f"user{i}" for i in range(3 * USERS_PER_REQUEST)]
    sim = start_panel("marzban", users=tuple(names))
    client = connect(sim, "marzban", max_concurrent_requests=1, read_timeout_seconds=0.2, max_attempts=1)
    client.login()
    sim.set_fault(PANEL_NAME, "timeout", path="/api/users", count=1)

    result = client.read_usage(names)

    assert all(isinstance(result[name], PanelError) for name in names)
    assert sim.request_counts(PANEL_NAME)["GET /api/users"] == 1
