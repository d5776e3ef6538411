"""The accounting rules as pure functions."""

from __future__ import annotations

from usage.accounting import Counters, apply_reading, reseller_used_bytes


def test_first_read_starts_from_current_counter():
    after = apply_reading(Counters(0, 0, None), 5000, 9000, first_read=True)

    assert after.usage_bytes == 5000
    assert after.settled_usage_bytes == 0
    assert after.last_lifetime_bytes == 9000


def test_rising_counter_adds_difference():
    after = apply_reading(Counters(1000, 200, None), 1500, None, first_read=False)

    assert after.consumed_bytes == 1700
    assert after.usage_bytes == 1500


def test_reset_without_lifetime_adds_current_value():
    after = apply_reading(Counters(1000, 200, None), 300, None, first_read=False)

    assert after.consumed_bytes == 1500
    assert after.usage_bytes == 300
    assert after.settled_usage_bytes == 1200


def test_reset_with_lifetime_loses_no_byte():
    # 1000 read last time; 400 more were used, then the counter was reset and 300 used since.
    after = apply_reading(Counters(1000, 0, 1000), 300, 1700, first_read=False)

    assert after.consumed_bytes == 1700
    assert after.usage_bytes == 300
    assert after.settled_usage_bytes == 1400


def test_lifetime_going_back_falls_back_to_counter():
    after = apply_reading(Counters(1000, 0, 5000), 1200, 1200, first_read=False)

    assert after.consumed_bytes == 1200
    assert after.last_lifetime_bytes == 1200


def test_consumed_never_decreases_on_first_read():
    after = apply_reading(Counters(8000, 0, None), 100, None, first_read=True)

    assert after.consumed_bytes == 8000


def test_counter_above_lifetime_growth_keeps_settled_non_negative():
    after = apply_reading(Counters(100, 0, 100), 5000, 200, first_read=False)

    assert after.settled_usage_bytes == 0
    assert after.usage_bytes == 5000


def test_reseller_total_subtracts_forgiven():
    assert reseller_used_bytes([100, 200, 300], 150) == 450


def test_reseller_total_floors_at_zero():
    assert reseller_used_bytes([100], 500) == 0
