"""Counter and flag validation shared by the panel clients."""

from __future__ import annotations

import pytest

from panels.counters import MAX_COUNTER, read_counter, read_flag, read_optional_counter
from worker.errors import PanelResponseError

BAD_COUNTERS = [
    ("negative", -1),
    ("string", "1024"),
    ("float", 1024.5),
    ("bool", True),
    ("null", None),
    ("above int64", MAX_COUNTER + 1),
]


@pytest.mark.parametrize(("case", "value"), BAD_COUNTERS, ids=[case for case, _ in BAD_COUNTERS])
def test_bad_counter_rejected(case, value):
    with pytest.raises(PanelResponseError) as caught:
        read_counter({"used_traffic": value}, "used_traffic", "alice", 3)
    message = str(caught.value)
    assert "'used_traffic'" in message
    assert "'alice'" in message
    assert repr(value) in message
    assert caught.value.panel_id == 3


def test_missing_counter_rejected():
    with pytest.raises(PanelResponseError, match="missing counter 'used_traffic' for user 'bob'"):
        read_counter({}, "used_traffic", "bob", 3)


@pytest.mark.parametrize("value", [0, 1, 10**12, MAX_COUNTER])
def test_valid_counter_accepted(value):
    assert read_counter({"up": value}, "up", "alice", 1) == value


def test_optional_counter_absent_is_none():
    assert read_optional_counter({}, "allTime", "alice", 1) is None


def test_optional_counter_null_rejected():
    with pytest.raises(PanelResponseError, match="'allTime'"):
        read_optional_counter({"allTime": None}, "allTime", "alice", 1)


@pytest.mark.parametrize("value", ["true", 1, None])
def test_bad_flag_rejected(value):
    with pytest.raises(PanelResponseError, match="'enable'"):
        read_flag({"enable": value}, "enable", "alice", 1)


def test_missing_flag_rejected():
    with pytest.raises(PanelResponseError, match="got nothing"):
        read_flag({}, "enable", "alice", 1)
