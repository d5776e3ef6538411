"""The run's compact readings, its config snapshot and the per-chunk planning."""

from __future__ import annotations

import pytest

import usage.engine
from models import Reseller, ResellerConfig
from panels import UserUsage
from simulator import PanelSpec, Simulator
from tests.factories import make_config, make_panel, make_reseller
from usage import config_snapshot
from usage.config_snapshot import ConfigSnapshot, load_snapshot, reseller_chunks
from usage.config_writer import load_config_rows
from usage.engine import UsageSync
from usage.panel_reads import PanelReadResult, _Positions, _UserErrorLog, store_part
from worker.errors import PanelError

MIB = 1024**2


@pytest.fixture
def sim():
    with Simulator([PanelSpec(name="mz", type="marzban", password="pw")]) as simulator:
        yield simulator


def marzban_panel(sim: Simulator, name: str = "mz"):
    return make_panel(name=name, type="marzban", base_url=sim.url_for("mz").rstrip("/"), password="pw")


def test_reading_round_trips_through_arrays():
    result = PanelReadResult(1, 3)
    result.store(0, UserUsage("a", 5, 9, True))
    result.store(1, UserUsage("b", 7, None, False))

    assert result.reading_at(0, "a") == UserUsage("a", 5, 9, True)
    assert result.reading_at(1, "b") == UserUsage("b", 7, None, False)
    assert result.reading_at(2, "c") == "user 'c' was not in the panel's response"


def test_reading_above_int64_kept_whole():
    result = PanelReadResult(1, 1)
    reading = UserUsage("a", 2**64, None, True)
    result.store(0, reading)

    assert result.reading_at(0, "a") is reading


def test_panel_error_applies_to_every_position():
    result = PanelReadResult(1, error="ConnectError: refused")

    assert result.reading_at(0, "a") == "ConnectError: refused"


def test_parts_out_of_order_find_positions():
    result = PanelReadResult(1, 3)
    positions = _Positions(["a", "b", "c"])
    errors = _UserErrorLog(1)
    failure = PanelError("batch failed")

    store_part(result, {"c": UserUsage("c", 3, 3, True), "zz": UserUsage("zz", 1, 1, True)}, positions, errors)
    store_part(result, {"a": failure, "b": failure}, positions, errors)

    assert result.reading_at(2, "c") == UserUsage("c", 3, 3, True)
    assert result.reading_at(0, "a") == "batch failed"
    assert result.reading_at(1, "b") == "batch failed"
    assert errors.logged == 2


def test_snapshot_match_skips_changed_rows(db, sim):
    reseller = make_reseller()
    panel = marzban_panel(sim)
    unchanged = make_config(reseller, panel, "unchanged")
    renamed = make_config(reseller, panel, "renamed")
    snapshot = load_snapshot([reseller.id])
    added = make_config(reseller, panel, "added")
    ResellerConfig.update(panel_username="renamed-later").where(ResellerConfig.id == renamed.id).execute()

    rows = load_config_rows([reseller.id])
    matches = snapshot.match(reseller.id, rows)

    assert [row.id for row in rows] == [unchanged.id, renamed.id, added.id]
    assert matches[0] is not None
    assert matches[1] is None
    assert matches[2] is None


def test_reseller_chunks_bounded_by_configs(monkeypatch):
    monkeypatch.setattr(config_snapshot, "CONFIGS_PER_CHUNK", 3)
    snapshot = ConfigSnapshot(ranges={1: (0, 2), 2: (2, 4), 3: (4, 5), 4: (5, 5)})

    assert list(reseller_chunks([1, 2, 3, 4], snapshot)) == [[1, 2], [3, 4]]


def test_config_renamed_mid_run_kept_as_stored(db, sim, monkeypatch):
    reseller = make_reseller()
    panel = marzban_panel(sim)
    sim.add_user("mz", "alice", used=10 * MIB)
    sim.add_user("mz", "bob", used=20 * MIB)
    alice = make_config(reseller, panel, "alice")
    bob = make_config(reseller, panel, "bob", usage_bytes=5 * MIB)
    real_load = usage.engine.load_snapshot

    def load_then_rename(reseller_ids):
        snapshot = real_load(reseller_ids)
        ResellerConfig.update(panel_username="bobby").where(ResellerConfig.id == bob.id).execute()
        return snapshot

    monkeypatch.setattr(usage.engine, "load_snapshot", load_then_rename)
    summary = UsageSync().run()

    assert summary.configs_synced == 1
    assert summary.configs_failed == 0
    assert ResellerConfig.get_by_id(alice.id).consumed_bytes == 10 * MIB
    assert ResellerConfig.get_by_id(bob.id).consumed_bytes == 5 * MIB
    assert ResellerConfig.get_by_id(bob.id).last_synced_at is None
    assert Reseller.get_by_id(reseller.id).traffic_used_bytes == 15 * MIB


def test_many_resellers_synced_across_chunks(db, sim, monkeypatch):
    monkeypatch.setattr(config_snapshot, "CONFIGS_PER_CHUNK", 2)
    panel = marzban_panel(sim)
    resellers = [make_reseller(name=f"r{number}") for number in range(5)]
    for number, reseller in enumerate(resellers):
        sim.add_user("mz", f"user{number}", used=(number + 1) * MIB)
        make_config(reseller, panel, f"user{number}")

    summary = UsageSync().run()

    assert summary.resellers == 5
    assert summary.configs_synced == 5
    for number, reseller in enumerate(resellers):
        assert reseller.configs.get().consumed_bytes == (number + 1) * MIB
