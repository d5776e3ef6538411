"""The sync run against simulated panels over real HTTP."""

from __future__ import annotations

import logging

import pytest

from models import Reseller, ResellerConfig
from simulator import PanelSpec, Simulator
from tests.factories import GIB, make_config, make_panel, make_reseller
from usage.engine import UsageSync

MIB = 1024**2


@pytest.fixture
def panels():
    specs = [
        PanelSpec(name="mz", type="marzban", password="pw-mz"),
        PanelSpec(name="mn", type="marzneshin", password="pw-mn"),
        PanelSpec(name="xui", type="xui", password="pw-xui", base_path="/base/"),
        PanelSpec(name="xui2", type="xui", version="2.5.0", password="pw-x2"),
    ]
    with Simulator(specs) as simulator:
        yield simulator


def register(simulator: Simulator, name: str, panel_type: str):
    password = simulator.panel(name).spec.password
    return make_panel(name=name, type=panel_type, base_url=simulator.url_for(name).rstrip("/"), password=password)


def consumed(config_id: int) -> int:
    return ResellerConfig.get_by_id(config_id).consumed_bytes


def test_sync_reads_three_panel_types(db, panels):
    reseller = make_reseller()
    rows = {}
    for name, panel_type, username in (("mz", "marzban", "alice"), ("mn", "marzneshin", "bob"),
                                       ("xui", "xui", "carol@example.com")):
        panels.add_user(name, username, used=100 * MIB)
        rows[name] = make_config(reseller, register(panels, name, panel_type), username)

    summary = UsageSync().run()

    assert summary.configs_synced == 3
    assert summary.configs_failed == 0
    for row in rows.values():
        assert consumed(row.id) == 100 * MIB
    assert Reseller.get_by_id(reseller.id).traffic_used_bytes == 300 * MIB


def test_one_panel_down_others_stored(db, panels, caplog):
    reseller = make_reseller()
    panels.add_user("mz", "alice", used=10 * MIB)
    panels.add_user("mn", "bob", used=20 * MIB)
    good_mz = make_config(reseller, register(panels, "mz", "marzban"), "alice")
    good_mn = make_config(reseller, register(panels, "mn", "marzneshin"), "bob")
    down_panel = make_panel(name="down", type="xui", base_url="http://127.0.0.1:9", password="pw")
    down = make_config(reseller, down_panel, "carol", usage_bytes=7 * MIB, last_synced_at=None)

    with caplog.at_level(logging.ERROR):
        summary = UsageSync().run()

    assert consumed(good_mz.id) == 10 * MIB
    assert consumed(good_mn.id) == 20 * MIB
    assert consumed(down.id) == 7 * MIB
    assert ResellerConfig.get_by_id(down.id).last_sync_error
    assert summary.panels_failed == 1
    assert down_panel.id in summary.failed_panels
    assert summary.configs_failed == 1
    assert f"Panel {down_panel.id}" in caplog.text


def test_marzban_reset_keeps_bytes_via_lifetime(db, panels):
    reseller = make_reseller()
    panels.add_user("mz", "alice", used=100 * MIB)
    row = make_config(reseller, register(panels, "mz", "marzban"), "alice")
    UsageSync().run()

    panels.set_counters("mz", "alice", used=150 * MIB, lifetime=150 * MIB)
    panels.reset_user("mz", "alice")
    panels.set_counters("mz", "alice", used=30 * MIB, lifetime=180 * MIB)
    UsageSync().run()

    stored = ResellerConfig.get_by_id(row.id)
    assert stored.usage_bytes == 30 * MIB
    assert stored.consumed_bytes == 180 * MIB
    assert stored.settled_usage_bytes == 150 * MIB


def test_counter_reset_without_lifetime_adds_current(db, panels):
    reseller = make_reseller()
    panels.add_user("xui2", "dave@example.com", used=100 * MIB)
    row = make_config(reseller, register(panels, "xui2", "xui"), "dave@example.com")
    UsageSync().run()

    panels.reset_user("xui2", "dave@example.com")
    panels.set_counters("xui2", "dave@example.com", used=40 * MIB)
    UsageSync().run()

    assert consumed(row.id) == 140 * MIB
    assert ResellerConfig.get_by_id(row.id).usage_bytes == 40 * MIB


def test_failed_read_keeps_last_value(db, panels):
    reseller = make_reseller()
    panels.add_user("mz", "alice", used=100 * MIB)
    row = make_config(reseller, register(panels, "mz", "marzban"), "alice")
    UsageSync().run()

    panels.set_fault("mz", "error")
    summary = UsageSync().run()

    stored = ResellerConfig.get_by_id(row.id)
    assert stored.consumed_bytes == 100 * MIB
    assert stored.last_sync_error
    assert summary.configs_failed == 1
    assert Reseller.get_by_id(reseller.id).traffic_used_bytes == 100 * MIB


@pytest.mark.parametrize("fault", ["negative", "string", "float", "huge", "missing", "bool", "null"])
def test_bad_counter_is_per_config_error(db, panels, fault):
    reseller = make_reseller()
    panels.add_user("mz", "alice", used=100 * MIB)
    panels.add_user("mz", "bob", used=5 * MIB)
    alice = make_config(reseller, register(panels, "mz", "marzban"), "alice")
    bob = make_config(reseller, alice.panel, "bob")
    UsageSync().run()

    panels.set_counters("mz", "bob", used=6 * MIB)
    panels.set_counter_fault("mz", "alice", fault)
    summary = UsageSync().run()

    assert consumed(alice.id) == 100 * MIB
    assert ResellerConfig.get_by_id(alice.id).last_sync_error
    assert consumed(bob.id) == 6 * MIB
    assert summary.configs_failed == 1
    assert summary.configs_synced == 1


def test_missing_user_is_per_config_error(db, panels):
    reseller = make_reseller()
    panel = register(panels, "mz", "marzban")
    row = make_config(reseller, panel, "ghost", usage_bytes=3 * MIB)

    summary = UsageSync().run()

    assert consumed(row.id) == 3 * MIB
    assert "ghost" in ResellerConfig.get_by_id(row.id).last_sync_error
    assert summary.configs_failed == 1


def test_totals_subtract_forgiven_and_track_wallet(db, panels):
    wallet = make_reseller(name="wallet", type="wallet", quota=0, admin_forgiven_bytes=10 * MIB)
    panels.add_user("mn", "w1", used=50 * MIB)
    panels.add_user("mn", "w2", used=30 * MIB)
    panel = register(panels, "mn", "marzneshin")
    make_config(wallet, panel, "w1")
    make_config(wallet, panel, "w2", status="disabled")

    UsageSync().run()

    assert Reseller.get_by_id(wallet.id).traffic_used_bytes == 70 * MIB
    assert Reseller.get_by_id(wallet.id).status == "active"


def test_unchanged_second_run_writes_nothing(db, panels, monkeypatch):
    from usage import config_writer, engine

    reseller = make_reseller()
    panels.add_user("mz", "alice", used=100 * MIB)
    make_config(reseller, register(panels, "mz", "marzban"), "alice")
    UsageSync().run()
    written = []

    def spy(outcomes, now):
        count = config_writer.write_outcomes(outcomes, now)
        written.append(count)
        return count

    monkeypatch.setattr(engine, "write_outcomes", spy)
    UsageSync().run()
    panels.set_counters("mz", "alice", used=101 * MIB, lifetime=101 * MIB)
    UsageSync().run()

    assert written == [0, 1]
