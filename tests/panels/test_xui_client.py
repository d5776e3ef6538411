"""The 3x-ui client against simulated 3x-ui panels of both API generations."""

from __future__ import annotations

import pytest

from panels.xui import PAGE_SIZE
from simulator import COUNTER_FAULTS
from tests.panels.conftest import PANEL_NAME
from worker.errors import PanelAuthError, PanelResponseError, PanelUserNotFoundError

V3 = "3.2.0"
V2_HIDDEN_API = "2.9.4"  # 2.8.4-3.0.1 return 404 to any unauthenticated API call
V2_RETURNS_401 = "2.8.3"
V2_WITHOUT_ALL_TIME = "2.6.6"
PAGED = "GET /panel/api/clients/list/paged"
INBOUNDS = "GET /panel/api/inbounds/list"


def test_v3_login_uses_csrf_token(start_panel, connect):
    sim = start_panel("xui", users=("alice",), version=V3)
    client = connect(sim, "xui")

    client.login()

    assert sim.request_counts(PANEL_NAME)["GET /csrf-token"] == 1


def test_wrong_password_fails(start_panel, connect):
    sim = start_panel("xui", version=V3)
    client = connect(sim, "xui", password="wrong")

    with pytest.raises(PanelAuthError, match="rejected the login"):
        client.login()


def test_v3_read_uses_clients_api(start_panel, connect):
    sim = start_panel("xui", version=V3)
    sim.add_user(PANEL_NAME, "alice@example.com", used=3000, lifetime=9000)
    client = connect(sim, "xui")

    usage = client.read_usage(["alice@example.com"])["alice@example.com"]

    assert client.generation == 3
    assert usage.used_bytes == 3000
    assert usage.lifetime_bytes is None
    assert usage.enabled is True


@pytest.mark.parametrize(("count", "pages"), [(PAGE_SIZE, 1), (PAGE_SIZE + 1, 2)])
def test_v3_page_size_limit(start_panel, connect, count, pages):
    names = [f"client{i}" for i in range(count)]
    sim = start_panel("xui", users=tuple(names), version=V3)
    client = connect(sim, "xui")

    result = client.read_usage(names)

    assert sum(1 for name in names if result[name].used_bytes == 0) == count
    assert sim.request_counts(PANEL_NAME)[PAGED] == pages


def test_v3_stops_paging_when_all_found(start_panel, connect):
    names = tuple(f"client{i}" for i in range(3 * PAGE_SIZE))
    sim = start_panel("xui", users=names, version=V3)
    client = connect(sim, "xui", max_concurrent_requests=1)

    client.read_usage(["client5"])

    assert sim.request_counts(PANEL_NAME)[PAGED] == 1


def test_v2_detected_by_404_without_extra_login(start_panel, connect):
    sim = start_panel("xui", users=("alice",), version=V2_HIDDEN_API)
    client = connect(sim, "xui")

    client.read_usage(["alice"])

    assert client.generation == 2
    assert sim.login_count(PANEL_NAME) == 1


def test_v2_reads_lifetime_from_all_time(start_panel, connect):
    sim = start_panel("xui", version=V2_HIDDEN_API)
    sim.add_user(PANEL_NAME, "alice", used=3000, lifetime=9000)
    client = connect(sim, "xui")

    usage = client.read_usage(["alice"])["alice"]

    assert usage.used_bytes == 3000
    assert usage.lifetime_bytes == 9000


def test_v2_before_all_time_has_no_lifetime(start_panel, connect):
    sim = start_panel("xui", users=("alice",), version=V2_WITHOUT_ALL_TIME)
    client = connect(sim, "xui")

    assert client.read_usage(["alice"])["alice"].lifetime_bytes is None


def test_v2_disabled_in_settings_reported_disabled(start_panel, connect):
    sim = start_panel("xui", version=V2_HIDDEN_API)
    sim.add_user(PANEL_NAME, "alice", enabled=False)
    client = connect(sim, "xui")

    assert client.read_usage(["alice"])["alice"].enabled is False


@pytest.mark.parametrize("version", [V3, V2_HIDDEN_API, V2_RETURNS_401])
def test_expired_session_logs_in_again(start_panel, connect, version):
    sim = start_panel("xui", users=("alice",), version=version)
    client = connect(sim, "xui")
    client.read_usage(["alice"])
    sim.expire_tokens(PANEL_NAME)

    result = client.read_usage(["alice"])

    assert result["alice"].used_bytes == 0
    assert sim.login_count(PANEL_NAME) == 2


def test_v2_missing_route_after_new_login_is_error(start_panel, connect):
    sim = start_panel("xui", users=("alice",), version=V2_HIDDEN_API)
    client = connect(sim, "xui")
    client.read_usage(["alice"])
    sim.set_fault(PANEL_NAME, "error", path="/inbounds/list", status=404)

    error = client.read_usage(["alice"])["alice"]

    assert isinstance(error, PanelResponseError)
    assert "HTTP 404" in str(error)


def test_api_token_skips_login(start_panel, connect):
    sim = start_panel("xui", users=("alice",), version=V3, api_token="token-for-tests")
    client = connect(sim, "xui", api_token="token-for-tests")

    client.read_usage(["alice"])
    client.disable_user("alice")

    assert "POST /login" not in sim.request_counts(PANEL_NAME)
    assert sim.user_enabled(PANEL_NAME, "alice") is False


def test_wrong_api_token_raises_auth_error(start_panel, connect):
    sim = start_panel("xui", users=("alice",), version=V3, api_token="token-for-tests")
    client = connect(sim, "xui", api_token="wrong-token")

    with pytest.raises(PanelAuthError):
        client.read_usage(["alice"])


def test_web_base_path_respected(start_panel, connect):
    sim = start_panel("xui", users=("alice",), version=V3, base_path="/hidden-path/")
    client = connect(sim, "xui")

    assert sim.url_for(PANEL_NAME).endswith("/hidden-path")
    assert client.read_usage(["alice"])["alice"].used_bytes == 0


@pytest.mark.parametrize("version", [V3, V2_HIDDEN_API])
def test_missing_client_reported_alone(start_panel, connect, version):
    sim = start_panel("xui", users=("alice",), version=version)
    client = connect(sim, "xui")

    result = client.read_usage(["alice", "ghost"])

    assert isinstance(result["ghost"], PanelUserNotFoundError)
    assert result["alice"].used_bytes == 0


@pytest.mark.parametrize("version", [V3, V2_HIDDEN_API])
@pytest.mark.parametrize("kind", sorted(COUNTER_FAULTS))
def test_bad_counter_is_per_user_error(start_panel, connect, version, kind):
    sim = start_panel("xui", users=("alice", "bob"), version=version)
    sim.set_counter_fault(PANEL_NAME, "alice", kind)
    client = connect(sim, "xui")

    result = client.read_usage(["alice", "bob"])

    assert isinstance(result["alice"], PanelResponseError)
    assert "'up'" in str(result["alice"])
    assert result["bob"].used_bytes == 0


@pytest.mark.parametrize(("version", "protocol"), [(V3, "vless"), (V3, "trojan"),
                                                    (V2_HIDDEN_API, "vless"), (V2_HIDDEN_API, "trojan")])
def test_disable_then_enable_client(start_panel, connect, version, protocol):
    sim = start_panel("xui", users=("alice",), version=version, inbound_protocol=protocol)
    client = connect(sim, "xui")

    client.disable_user("alice")
    disabled = sim.user_enabled(PANEL_NAME, "alice")
    client.enable_user("alice")

    assert disabled is False
    assert sim.user_enabled(PANEL_NAME, "alice") is True


@pytest.mark.parametrize(("version", "update"), [
    (V3, "POST /panel/api/clients/update/{email}"),
    (V2_HIDDEN_API, "POST /panel/api/inbounds/updateClient/{key}"),
])
def test_disable_twice_sends_one_update(start_panel, connect, version, update):
    sim = start_panel("xui", users=("alice",), version=version)
    client = connect(sim, "xui")

    client.disable_user("alice")
    client.disable_user("alice")

    assert sim.request_counts(PANEL_NAME)[update] == 1


def test_v2_enable_clears_traffic_limit(start_panel, connect):
    sim = start_panel("xui", users=("alice",), version=V2_HIDDEN_API)
    sim.set_limited(PANEL_NAME, "alice")
    client = connect(sim, "xui")

    client.enable_user("alice")

    assert client.read_usage(["alice"])["alice"].enabled is True


@pytest.mark.parametrize("version", [V3, V2_HIDDEN_API])
def test_disable_missing_client_raises_not_found(start_panel, connect, version):
    sim = start_panel("xui", version=version)
    client = connect(sim, "xui")

    with pytest.raises(PanelUserNotFoundError):
        client.disable_user("ghost")


def test_reset_clears_limit_but_keeps_lifetime(start_panel, connect):
    sim = start_panel("xui", version=V2_HIDDEN_API)
    sim.add_user(PANEL_NAME, "alice", used=800)
    sim.set_limited(PANEL_NAME, "alice")
    client = connect(sim, "xui")

    sim.reset_user(PANEL_NAME, "alice")
    usage = client.read_usage(["alice"])["alice"]

    assert usage.used_bytes == 0
    assert usage.lifetime_bytes == 800
    assert usage.enabled is True


def test_v3_check_reports_version_and_count(start_panel, connect):
    sim = start_panel("xui", users=("alice", "bob"), version="3.1.0")
    client = connect(sim, "xui")

    info = client.check()

    assert info.version == "3.1.0"
    assert info.user_count == 2


def test_v2_check_counts_clients(start_panel, connect):
    sim = start_panel("xui", users=("alice", "bob", "carol"), version=V2_HIDDEN_API)
    client = connect(sim, "xui")

    info = client.check()

    assert info.version is None
    assert info.user_count == 3


def test_v3_html_page_is_response_error(start_panel, connect):
    sim = start_panel("xui", users=("alice",), version=V3)
    client = connect(sim, "xui")
    client.read_usage(["alice"])
    sim.set_fault(PANEL_NAME, "html", path="/clients/list/paged")

    error = client.read_usage(["alice"])["alice"]

    assert isinstance(error, PanelResponseError)
    assert "HTML page" in str(error)
