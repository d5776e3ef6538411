"""Every known setting fuzzed with arbitrary strings, through the Redis override hash and the settings table.

Neither the gate nor a sync run may raise, whatever an operator stores.
Each example starts from the same rows and panel state: a traffic reseller
near its quota and a config over its own limit, so the fuzzed grace, overrun
and rate settings decide between suspending, disabling and doing nothing.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import usage.remote_ops
from jobs.gate import ALREADY_QUEUED, DISPATCHED, NOT_DUE, evaluate_tick
from models import Reseller, ResellerConfig, Setting, database_proxy
from simulator import PanelSpec, Simulator
from tests.faults.conftest import PANEL_PASSWORD
from tests.faults.support import FIRST_SYNTHETIC_TICK
from tests.factories import make_config, make_panel, make_reseller
from usage.engine import UsageSync
from worker.settings_store import KNOWN_SETTINGS, MAX_INTERVAL_MINUTES, MIN_INTERVAL_MINUTES, OVERRIDE_HASH_KEY
from worker.unique_lock import LOCK_KEY

MIB = 1024**2
MAX_EXAMPLES = 120
LAYERS = ("redis", "table", "both", "unset")

numbers = st.one_of(
    st.integers().map(str),
    st.integers(min_value=10**18, max_value=10**400).map(str),
    st.integers(min_value=-(10**400), max_value=-(10**18)).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(str),
    st.decimals(allow_nan=True, allow_infinity=True).map(str),
)
unicode_digits = st.text(alphabet=st.characters(categories=["Nd"]), min_size=1, max_size=30)
padding = st.text(alphabet=" \t\n\r\x0b\x0c\x00\u00a0\u2003\u3000\ufeff", max_size=4)
padded = st.builds(lambda left, core, right: left + core + right, padding, st.one_of(numbers, unicode_digits),
                   padding)
values = st.one_of(st.text(), numbers, unicode_digits, padded, st.sampled_from(["", "true", "FALSE", "0", "-0"]))
assignments = st.fixed_dictionaries({key: st.tuples(st.sampled_from(LAYERS), values) for key in KNOWN_SETTINGS})

NASTY_VALUES = ["\x00", "5\x00", "9" * 5000, "-" + "9" * 5000, "٣", "５", "²", " 3 ", "1e3", "nan", "-inf",
                "0.0000000000000000001", "1" + "0" * 19, "\u3000\u3000"]


@pytest.fixture
def fuzz_fleet(fault_db):
    """One Marzban panel, a reseller at 95 % of its quota and a config over its own limit."""
    with Simulator([PanelSpec(name="panel", type="marzban", password=PANEL_PASSWORD)]) as simulator:
        with database_proxy.connection_context():
            panel = make_panel(name="panel", base_url=simulator.url_for("panel"), password=PANEL_PASSWORD)
            reseller = make_reseller(quota=1000 * MIB)
            for index, used in enumerate((600 * MIB, 350 * MIB)):
                username = f"user-{index}"
                simulator.add_user("panel", username, used=used)
                make_config(reseller, panel, username, limit_bytes=300 * MIB)
        yield simulator


def restore_rows(simulator: Simulator) -> None:
    """Put rows and panel users back to their seeded state, so examples do not depend on each other."""
    ResellerConfig.update(status="active", disabled_reason=None, disabled_by_suspension=False, usage_bytes=0,
                          settled_usage_bytes=0, last_lifetime_bytes=None, last_synced_at=None,
                          last_sync_error=None, remote_pending=None, remote_attempts=0).execute()
    Reseller.update(status="active", suspension_reason=None, traffic_used_bytes=0, last_synced_at=None).execute()
    Setting.delete().execute()
    for username in ("user-0", "user-1"):
        simulator.panel("panel").store.set_enabled(simulator.panel("panel").store.require(username), True)


def apply_settings(connection, assignment: dict[str, tuple[str, str]]) -> None:
    connection.delete(OVERRIDE_HASH_KEY)
    for key, (layer, value) in assignment.items():
        if layer in ("redis", "both"):
            connection.hset(OVERRIDE_HASH_KEY, key, value)
        if layer in ("table", "both"):
            Setting.set_value(key, value)


def test_fuzzed_settings_never_crash(redis_conn, fault_config, fuzz_fleet, monkeypatch):
    # A fuzzed rate such as 1e-19 operations a second would make the limiter sleep for ages.
    requested_sleeps: list[float] = []
    monkeypatch.setattr(usage.remote_ops, "sleep", requested_sleeps.append)
    minutes = iter(range(10**6))

    @settings(max_examples=MAX_EXAMPLES, deadline=None, derandomize=True, database=None,
              suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
    @given(assignments)
    def check(assignment):
        with database_proxy.connection_context():
            restore_rows(fuzz_fleet)
            apply_settings(redis_conn, assignment)
        redis_conn.delete(LOCK_KEY)
        tick = FIRST_SYNTHETIC_TICK + timedelta(minutes=next(minutes))

        outcome = evaluate_tick(tick, redis_conn, fault_config, force=True)
        with database_proxy.connection_context():
            summary = UsageSync(connection=redis_conn).run()

        assert outcome.outcome in (DISPATCHED, NOT_DUE, ALREADY_QUEUED)
        assert MIN_INTERVAL_MINUTES <= outcome.interval <= MAX_INTERVAL_MINUTES
        assert summary.resellers == 1
        assert summary.configs_synced == 2
        assert summary.configs_failed == 0

    for nasty in NASTY_VALUES:
        for layer in ("redis", "table"):
            check = example({key: (layer, nasty) for key in KNOWN_SETTINGS})(check)
    # A valid but tiny rate while both configs must be disabled on the same panel.
    slowest = {key: ("unset", "") for key in KNOWN_SETTINGS}
    slowest.update({"panel.remote_operations_per_second": ("table", "0.0001"),
                    "reseller.allow_config_overrun": ("redis", "false")})
    check = example(slowest)(check)
    check()
    print(f"\n{next(minutes)} examples; longest rate-limiter wait requested: "
          f"{max(requested_sleeps, default=0):.3g} s")
