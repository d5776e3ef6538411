"""Suspension, reactivation and convergence against simulated panels over real HTTP."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from decimal import Decimal

import pytest

from models import AuditLog, Reseller, ResellerConfig
from panels import create_client
from simulator import PanelSpec, Simulator
from tests.factories import make_config, make_panel, make_reseller
from usage.engine import UsageSync
from usage.limits import EnforcementSettings
from usage.panel_settings import panel_settings

MIB = 1024**2
NO_GRACE = EnforcementSettings(reseller_grace_percent=Decimal(0), reseller_grace_bytes=0,
                               config_grace_percent=Decimal(0), config_grace_bytes=0)
STRICT = replace(NO_GRACE, allow_config_overrun=False)


@pytest.fixture(autouse=True)
def no_backoff(monkeypatch):
    monkeypatch.setattr("panels.http.sleep", lambda seconds: None)


@pytest.fixture
def sim():
    specs = [PanelSpec(name="mz", type="marzban", password="pw"),
             PanelSpec(name="xui", type="xui", password="pw", base_path="/p/")]
    with Simulator(specs) as simulator:
        yield simulator


@pytest.fixture
def setup_reseller(db, sim):
    """A traffic reseller with 100 MiB quota and one config on each panel, using 60 MiB each."""
    mz = make_panel(name="mz", type="marzban", base_url=sim.url_for("mz").rstrip("/"), password="pw")
    xui = make_panel(name="xui", type="xui", base_url=sim.url_for("xui").rstrip("/"), password="pw")
    reseller = make_reseller(quota=100 * MIB)
    sim.add_user("mz", "alice", used=60 * MIB)
    sim.add_user("xui", "bob@example.com", used=60 * MIB)
    alice = make_config(reseller, mz, "alice")
    bob = make_config(reseller, xui, "bob@example.com")
    return reseller, alice, bob


def sync(settings=NO_GRACE):
    return UsageSync(settings=settings).run()


def panel_enabled(panel_id: int, username: str) -> bool:
    """Read the user's enabled flag through the panel's own HTTP API."""
    from models import Panel

    with create_client(panel_settings(Panel.get_by_id(panel_id))) as client:
        client.login()
        return client.read_usage([username])[username].enabled


def actions() -> list[str]:
    return [row.action for row in AuditLog.select().order_by(AuditLog.id)]


def write_calls(sim: Simulator) -> int:
    return sum(count for name in ("mz", "xui") for endpoint, count in sim.request_counts(name).items()
               if not endpoint.startswith("GET") and "login" not in endpoint and "token" not in endpoint
               and "csrf" not in endpoint)


def test_quota_exhausted_suspends_and_disables(setup_reseller):
    reseller, alice, bob = setup_reseller

    summary = sync()

    stored = Reseller.get_by_id(reseller.id)
    assert stored.status == "suspended"
    assert stored.suspension_reason == "reseller_quota_exhausted"
    for config in (alice, bob):
        row = ResellerConfig.get_by_id(config.id)
        assert row.status == "disabled"
        assert row.disabled_reason == "reseller_suspended"
        assert row.disabled_by_suspension is True
        assert panel_enabled(config.panel_id, config.panel_username) is False
    assert actions() == ["reseller_suspended", "config_auto_disabled", "config_auto_disabled"]
    assert summary.pending_operations == 0


def test_one_byte_under_quota_stays_active(db, sim):
    mz = make_panel(name="mz", type="marzban", base_url=sim.url_for("mz").rstrip("/"), password="pw")
    reseller = make_reseller(quota=100 * MIB)
    sim.add_user("mz", "alice", used=100 * MIB - 1)
    make_config(reseller, mz, "alice")

    sync()

    assert Reseller.get_by_id(reseller.id).status == "active"
    assert actions() == []


def test_raised_quota_reactivates_only_suspension_configs(setup_reseller, sim):
    reseller, alice, bob = setup_reseller
    sim.add_user("mz", "carol", used=0, enabled=False)
    carol = make_config(reseller, alice.panel, "carol", status="disabled")
    sync()

    Reseller.update(traffic_total_bytes=1024 * MIB).where(Reseller.id == reseller.id).execute()
    sync()

    assert Reseller.get_by_id(reseller.id).status == "active"
    assert Reseller.get_by_id(reseller.id).suspension_reason is None
    for config in (alice, bob):
        row = ResellerConfig.get_by_id(config.id)
        assert row.status == "active"
        assert row.disabled_by_suspension is False
        assert panel_enabled(config.panel_id, config.panel_username) is True
    assert ResellerConfig.get_by_id(carol.id).status == "disabled"
    assert panel_enabled(carol.panel_id, "carol") is False
    assert actions()[-3:] == ["reseller_activated", "config_auto_enabled", "config_auto_enabled"]


def test_forgiven_bytes_reactivate(setup_reseller):
    reseller, alice, _ = setup_reseller
    sync()

    Reseller.update(admin_forgiven_bytes=50 * MIB).where(Reseller.id == reseller.id).execute()
    sync()

    assert Reseller.get_by_id(reseller.id).status == "active"
    assert ResellerConfig.get_by_id(alice.id).status == "active"


def test_window_expiry_suspends_and_extension_reactivates(db, sim):
    mz = make_panel(name="mz", type="marzban", base_url=sim.url_for("mz").rstrip("/"), password="pw")
    reseller = make_reseller(quota=1024 * MIB, window_ends_at=datetime.utcnow() - timedelta(minutes=1))
    sim.add_user("mz", "alice", used=1 * MIB)
    alice = make_config(reseller, mz, "alice")

    sync()
    assert Reseller.get_by_id(reseller.id).suspension_reason == "reseller_window_expired"
    assert panel_enabled(mz.id, "alice") is False

    Reseller.update(window_ends_at=datetime.utcnow() + timedelta(days=30)).where(Reseller.id == reseller.id).execute()
    sync()

    assert Reseller.get_by_id(reseller.id).status == "active"
    assert ResellerConfig.get_by_id(alice.id).status == "active"
    assert panel_enabled(mz.id, "alice") is True


def test_failed_disable_retried_until_confirmed(setup_reseller, sim):
    reseller, alice, _ = setup_reseller
    sim.set_fault("mz", "error", path="/api/user/alice", status=500)

    for attempt in (1, 2):
        summary = sync()
        row = ResellerConfig.get_by_id(alice.id)
        assert row.remote_pending == "disable"
        assert row.remote_attempts == attempt
        assert row.status == "active"
        assert summary.pending_operations == 1
        assert panel_enabled(alice.panel_id, "alice") is True

    sim.clear_faults("mz")
    summary = sync()

    row = ResellerConfig.get_by_id(alice.id)
    assert row.status == "disabled"
    assert row.remote_pending is None
    assert summary.pending_operations == 0
    assert panel_enabled(alice.panel_id, "alice") is False
    alice_rows = [(entry.action, entry.details_dict["attempts"])
                  for entry in AuditLog.select().where(AuditLog.target_id == alice.id, AuditLog.target_type == "config")]
    assert alice_rows == [("remote_operation_failed", 1), ("remote_operation_failed", 2), ("config_auto_disabled", 3)]


def test_panel_reset_reenabled_user_is_disabled_again(setup_reseller, sim):
    reseller, alice, _ = setup_reseller
    sync()

    sim.reset_user("mz", "alice")
    assert panel_enabled(alice.panel_id, "alice") is True
    sync()

    assert panel_enabled(alice.panel_id, "alice") is False
    last = AuditLog.select().order_by(AuditLog.id.desc()).first()
    assert last.action == "config_auto_disabled"
    assert last.details_dict["reenabled_by_panel"] is True
    assert Reseller.get_by_id(reseller.id).status == "suspended"


def test_second_identical_run_changes_nothing(setup_reseller, sim):
    sync()
    audit_rows = AuditLog.select().count()
    calls = write_calls(sim)

    sync()

    assert AuditLog.select().count() == audit_rows
    assert write_calls(sim) == calls


def test_config_overrun_disallowed_disables_config(db, sim):
    mz = make_panel(name="mz", type="marzban", base_url=sim.url_for("mz").rstrip("/"), password="pw")
    reseller = make_reseller(quota=10 * 1024 * MIB)
    sim.add_user("mz", "heavy", used=0)
    sim.add_user("mz", "old", used=0)
    heavy = make_config(reseller, mz, "heavy", limit_bytes=10 * MIB)
    old = make_config(reseller, mz, "old", expires_at=datetime.utcnow() - timedelta(hours=1))
    sync(STRICT)
    sim.set_counters("mz", "heavy", used=10 * MIB)

    sync(STRICT)

    assert ResellerConfig.get_by_id(heavy.id).status == "disabled"
    assert ResellerConfig.get_by_id(heavy.id).disabled_reason == "traffic_exceeded"
    assert ResellerConfig.get_by_id(old.id).status == "expired"
    assert ResellerConfig.get_by_id(old.id).disabled_reason == "time_expired"
    assert panel_enabled(mz.id, "heavy") is False
    assert Reseller.get_by_id(reseller.id).status == "active"


def test_config_overrun_allowed_by_default(db, sim):
    mz = make_panel(name="mz", type="marzban", base_url=sim.url_for("mz").rstrip("/"), password="pw")
    reseller = make_reseller(quota=10 * 1024 * MIB)
    sim.add_user("mz", "heavy", used=0)
    heavy = make_config(reseller, mz, "heavy", limit_bytes=1 * MIB)
    sync()
    sim.set_counters("mz", "heavy", used=100 * MIB)

    sync()

    assert ResellerConfig.get_by_id(heavy.id).status == "active"


def test_wallet_reseller_is_not_enforced(db, sim):
    mz = make_panel(name="mz", type="marzban", base_url=sim.url_for("mz").rstrip("/"), password="pw")
    wallet = make_reseller(type="wallet", quota=1, window_ends_at=datetime.utcnow() - timedelta(days=1))
    sim.add_user("mz", "w", used=500 * MIB)
    make_config(wallet, mz, "w")

    sync()

    assert Reseller.get_by_id(wallet.id).status == "active"
    assert Reseller.get_by_id(wallet.id).traffic_used_bytes == 500 * MIB
    assert panel_enabled(mz.id, "w") is True
    assert actions() == []


def test_audit_list_filters_by_reseller(setup_reseller, config):
    import json

    from click.testing import CliRunner

    from manage import cli

    reseller, _, _ = setup_reseller
    other = make_reseller(name="other")
    sync()

    mine = CliRunner().invoke(cli, ["audit", "list", "--reseller", str(reseller.id), "--json"])
    theirs = CliRunner().invoke(cli, ["audit", "list", "--reseller", str(other.id), "--json"])
    future = CliRunner().invoke(cli, ["audit", "list", "--since", "2999-01-01T00:00:00Z", "--json"])

    rows = json.loads(mine.stdout)
    assert [row["action"] for row in rows] == ["reseller_suspended", "config_auto_disabled", "config_auto_disabled"]
    assert rows[1]["details"]["remote_success"] is True
    assert json.loads(theirs.stdout) == []
    assert json.loads(future.stdout) == []
