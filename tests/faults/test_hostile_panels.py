"""Hostile panels through a whole sync run: each is rejected with a clear error and changes nothing else.

One healthy Marzban panel and one hostile panel share two resellers. Both
panels' counters grow between a clean first run and the faulty second run,
so a hostile response that leaked into the stored values would show.
Clients get short timeouts and two attempts, which bounds the slow cases
(an endless body, a hang) to a few seconds.
"""

from __future__ import annotations

import re
import time
from dataclasses import replace

import pytest

from models import AuditLog, Reseller, ResellerConfig, database_proxy
from panels import create_client
from simulator import PanelSpec, Simulator
from tests.faults.conftest import PANEL_PASSWORD, seed_fleet
from tests.faults.support import reseller_mismatches
from usage.engine import UsageSync

GROWTH_BYTES = 7_000_000
RUN_BOUND_SECONDS = 10

# Response faults on the users listing of a Marzban panel: login works, the read is hostile.
READ_FAULTS = {
    "endless": r"did not finish within the 1\.5 s deadline",
    "huge_body": r"too large \(at least \d+ bytes\); the maximum is 33554432 bytes",
    "invalid_json": r"returned invalid JSON",
    "html": r"returned an HTML page where JSON was expected",
    "redirect_loop": r"entered a redirect loop",
    "wrong_shape": r"expected a JSON object, got list",
    "timeout": r"failed after 2 attempt\(s\): timed out",
}
# Counter faults on one user: only that config fails, its panel neighbour still syncs.
COUNTER_FAULTS = {
    "negative": r"invalid counter 'used_traffic' .*expected 0 to 9223372036854775807, got -\d+",
    "string": r"invalid counter 'used_traffic' .*expected an integer number of bytes, got str",
    "float": r"invalid counter 'used_traffic' .*expected an integer number of bytes, got float",
    "huge": r"invalid counter 'used_traffic' .*expected 0 to 9223372036854775807, got 92233720\d{11,}",
}


def short_timeouts(settings):
    return create_client(replace(settings, connect_timeout_seconds=0.5, read_timeout_seconds=0.5,
                                 max_attempts=2, backoff_seconds=0.01))


def run_sync():
    with database_proxy.connection_context():
        return UsageSync(client_factory=short_timeouts).run()


def configs_of(fleet, panel_name: str) -> dict[str, ResellerConfig]:
    with database_proxy.connection_context():
        rows = ResellerConfig.select().where(ResellerConfig.panel == fleet.panels[panel_name].id)
        return {row.panel_username: row for row in rows}


def grow_everyone(simulator: Simulator) -> None:
    for name in simulator.panel_names:
        panel = simulator.panel(name)
        for index in panel.store.indices():
            username = panel.store.name_of(index)
            used = simulator.user_state(name, username)["used"]
            simulator.set_counters(name, username, used + GROWTH_BYTES, used + GROWTH_BYTES)


def reseller_states() -> list[tuple]:
    with database_proxy.connection_context():
        return [(row.id, row.status) for row in Reseller.select().order_by(Reseller.id)]


def audit_count() -> int:
    with database_proxy.connection_context():
        return AuditLog.select().count()


@pytest.fixture
def hostile_fleet(fault_db, request):
    specs = [PanelSpec(name="good", type="marzban", password=PANEL_PASSWORD),
             PanelSpec(name="bad", type=getattr(request, "param", "marzban"), password=PANEL_PASSWORD)]
    with Simulator(specs) as simulator:
        yield seed_fleet(simulator, resellers=2, users_per_panel=2, bytes_per_second=0)


@pytest.mark.parametrize("fault", sorted(READ_FAULTS))
def test_hostile_read_rejected_per_config(hostile_fleet, db_path, fault):
    run_sync()
    good_before, bad_before = configs_of(hostile_fleet, "good"), configs_of(hostile_fleet, "bad")
    states_before = reseller_states()
    hostile_fleet.simulator.set_fault("bad", fault, path="/api/users")
    grow_everyone(hostile_fleet.simulator)

    started = time.monotonic()
    summary = run_sync()
    seconds = time.monotonic() - started

    good_after, bad_after = configs_of(hostile_fleet, "good"), configs_of(hostile_fleet, "bad")
    assert seconds < RUN_BOUND_SECONDS
    assert summary.configs_failed == len(bad_before)
    assert summary.configs_synced == len(good_before)
    for name, row in bad_after.items():
        assert row.consumed_bytes == bad_before[name].consumed_bytes
        assert re.search(READ_FAULTS[fault], row.last_sync_error), row.last_sync_error
    for name, row in good_after.items():
        assert row.consumed_bytes == good_before[name].consumed_bytes + GROWTH_BYTES
        assert row.last_sync_error is None
    assert reseller_states() == states_before
    assert audit_count() == 0
    assert reseller_mismatches(db_path) == []


@pytest.mark.parametrize("hostile_fleet", ["marzban", "marzneshin", "xui"], indirect=True)
def test_hostile_login_rejected_per_panel(hostile_fleet, db_path):
    run_sync()
    bad_before = configs_of(hostile_fleet, "bad")
    hostile_fleet.simulator.set_fault("bad", "html")
    grow_everyone(hostile_fleet.simulator)

    summary = run_sync()

    bad_id = hostile_fleet.panels["bad"].id
    assert summary.panels_failed == 1
    assert re.search(r"HTML page where JSON was expected", summary.failed_panels[bad_id])
    for name, row in configs_of(hostile_fleet, "bad").items():
        assert row.consumed_bytes == bad_before[name].consumed_bytes
        assert row.last_sync_error == summary.failed_panels[bad_id]
    assert all(row.last_sync_error is None for row in configs_of(hostile_fleet, "good").values())
    assert reseller_mismatches(db_path) == []


def test_self_signed_tls_rejected(fault_db, db_path):
    specs = [PanelSpec(name="good", type="marzban", password=PANEL_PASSWORD),
             PanelSpec(name="bad", type="marzban", password=PANEL_PASSWORD, tls=True)]
    with Simulator(specs) as simulator:
        fleet = seed_fleet(simulator, resellers=2, users_per_panel=2, bytes_per_second=0)
        bad_before = configs_of(fleet, "bad")

        summary = run_sync()

        bad_id = fleet.panels["bad"].id
        assert fleet.panels["bad"].verify_tls is True
        assert summary.panels_failed == 1
        assert "TLS certificate verification failed" in summary.failed_panels[bad_id]
        assert "self-signed certificate" in summary.failed_panels[bad_id]
        for name, row in configs_of(fleet, "bad").items():
            assert row.consumed_bytes == bad_before[name].consumed_bytes
            assert "TLS certificate verification failed" in row.last_sync_error
        assert all(row.last_sync_error is None for row in configs_of(fleet, "good").values())
        assert summary.configs_synced == 2


@pytest.mark.parametrize("fault", sorted(COUNTER_FAULTS))
def test_broken_counter_rejected_per_config(hostile_fleet, db_path, fault):
    run_sync()
    bad_before = configs_of(hostile_fleet, "bad")
    broken, healthy = sorted(bad_before)
    hostile_fleet.simulator.set_counter_fault("bad", broken, fault)
    grow_everyone(hostile_fleet.simulator)

    summary = run_sync()

    bad_after = configs_of(hostile_fleet, "bad")
    assert summary.configs_failed == 1
    assert summary.panels_failed == 0
    assert bad_after[broken].consumed_bytes == bad_before[broken].consumed_bytes
    assert re.search(COUNTER_FAULTS[fault], bad_after[broken].last_sync_error), bad_after[broken].last_sync_error
    assert bad_after[healthy].consumed_bytes == bad_before[healthy].consumed_bytes + GROWTH_BYTES
    assert bad_after[healthy].last_sync_error is None
    assert reseller_mismatches(db_path) == []
