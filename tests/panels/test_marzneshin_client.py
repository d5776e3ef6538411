"""The Marzneshin client against the simulated Marzneshin panel."""

from __future__ import annotations

import pytest

from panels.marzneshin import PAGE_SIZE
from simulator import COUNTER_FAULTS
from tests.panels.conftest import PANEL_NAME
from worker.errors import PanelAuthError, PanelResponseError, PanelUserNotFoundError


def test_login_with_wrong_password_fails(start_panel, connect):
    sim = start_panel("marzneshin")
    client = connect(sim, "marzneshin", password="wrong")

    with pytest.raises(PanelAuthError):
        client.login()


def test_bulk_read_returns_counters(start_panel, connect):
    sim = start_panel("marzneshin")
    sim.add_user(PANEL_NAME, "alice", used=1000, lifetime=5000)
    client = connect(sim, "marzneshin")

    usage = client.read_usage(["alice"])["alice"]

    assert usage.used_bytes == 1000
    assert usage.lifetime_bytes == 5000
    assert usage.enabled is True


@pytest.mark.parametrize(("count", "requests"), [(PAGE_SIZE, 1), (PAGE_SIZE + 1, 2)])
def test_page_size_limit(start_panel, connect, count, requests):
    names = [f"user{i:03d}" for i in range(count)]
    sim = start_panel("marzneshin", users=tuple(names))
    client = connect(sim, "marzneshin")

    result = client.read_usage(names)

    assert sum(1 for name in names if result[name].used_bytes == 0) == count
    assert sim.request_counts(PANEL_NAME)["GET /api/users"] == requests


def test_single_name_not_matched_as_substring(start_panel, connect):
    sim = start_panel("marzneshin")
    sim.add_user(PANEL_NAME, "alice", used=999)
    sim.add_user(PANEL_NAME, "ali", used=5)
    client = connect(sim, "marzneshin")

    usage = client.read_usage(["ali"])["ali"]

    assert usage.used_bytes == 5


def test_single_missing_name_not_confused_with_longer_one(start_panel, connect):
    sim = start_panel("marzneshin")
    sim.add_user(PANEL_NAME, "alice", used=999)
    client = connect(sim, "marzneshin")

    result = client.read_usage(["ali"])

    assert isinstance(result["ali"], PanelUserNotFoundError)


def test_underscore_is_not_a_wildcard(start_panel, connect):
    sim = start_panel("marzneshin")
    sim.add_user(PANEL_NAME, "abc", used=999)
    client = connect(sim, "marzneshin")

    result = client.read_usage(["a_c"])

    assert isinstance(result["a_c"], PanelUserNotFoundError)


@pytest.mark.parametrize("kind", sorted(COUNTER_FAULTS))
def test_bad_counter_is_per_user_error(start_panel, connect, kind):
    sim = start_panel("marzneshin", users=("alice", "bob"))
    sim.set_counter_fault(PANEL_NAME, "alice", kind)
    client = connect(sim, "marzneshin")

    result = client.read_usage(["alice", "bob"])

    assert isinstance(result["alice"], PanelResponseError)
    assert "used_traffic" in str(result["alice"])
    assert result["bob"].used_bytes == 0


def test_user_over_limit_reported_inactive(start_panel, connect):
    sim = start_panel("marzneshin", users=("alice",))
    sim.set_limited(PANEL_NAME, "alice")
    client = connect(sim, "marzneshin")

    assert client.read_usage(["alice"])["alice"].enabled is False


def test_disable_user_switches_panel_state(start_panel, connect):
    sim = start_panel("marzneshin", users=("alice",))
    client = connect(sim, "marzneshin")

    client.disable_user("alice")

    assert sim.user_enabled(PANEL_NAME, "alice") is False


def test_disable_already_disabled_succeeds(start_panel, connect):
    sim = start_panel("marzneshin")
    sim.add_user(PANEL_NAME, "alice", enabled=False)
    client = connect(sim, "marzneshin")

    client.disable_user("alice")

    assert sim.user_enabled(PANEL_NAME, "alice") is False


def test_enable_user_switches_panel_state(start_panel, connect):
    sim = start_panel("marzneshin")
    sim.add_user(PANEL_NAME, "alice", enabled=False)
    client = connect(sim, "marzneshin")

    client.enable_user("alice")

    assert sim.user_enabled(PANEL_NAME, "alice") is True


def test_enable_missing_user_raises_not_found(start_panel, connect):
    sim = start_panel("marzneshin")
    client = connect(sim, "marzneshin")

    with pytest.raises(PanelUserNotFoundError):
        client.enable_user("ghost")


def test_reset_keeps_user_disabled(start_panel, connect):
    sim = start_panel("marzneshin")
    sim.add_user(PANEL_NAME, "alice", used=500, enabled=False)
    client = connect(sim, "marzneshin")

    sim.reset_user(PANEL_NAME, "alice")
    usage = client.read_usage(["alice"])["alice"]

    assert usage.used_bytes == 0
    assert usage.lifetime_bytes == 500
    assert usage.enabled is False


def test_expired_token_logs_in_again(start_panel, connect):
    sim = start_panel("marzneshin", users=("alice",), token_max_requests=1)
    client = connect(sim, "marzneshin")
    client.read_usage(["alice"])

    result = client.read_usage(["alice"])

    assert result["alice"].used_bytes == 0
    assert sim.login_count(PANEL_NAME) == 2


def test_check_reports_count_without_version(start_panel, connect):
    sim = start_panel("marzneshin", users=("alice", "bob", "carol"))
    client = connect(sim, "marzneshin")

    info = client.check()

    assert info.version is None
    assert info.user_count == 3


def test_single_name_filtered_exactly_on_panel(start_panel, connect):
    superstrings = tuple(f"ali{i:03d}" for i in range(PAGE_SIZE + 50))
    sim = start_panel("marzneshin", users=("ali", *superstrings))
    client = connect(sim, "marzneshin")

    client.read_usage(["ali"])

    # A substring match would return 151 users over two pages.
    assert sim.request_counts(PANEL_NAME)["GET /api/users"] == 1
