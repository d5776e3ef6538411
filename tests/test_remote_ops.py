"""Remote operations: per-panel rate limits, panels in parallel, failures kept per config."""

from __future__ import annotations

import threading

import pytest

from usage import remote_ops
from usage.enforcement import DISABLE, ENABLE, ConfigAction
from usage.remote_ops import RateLimiter, run_remote_operations
from worker.errors import PanelError


class FakeClock:
    def __init__(self):
        self.now = 100.0
        self.lock = threading.Lock()
        self.sleeps: dict[str, list[float]] = {}

    def monotonic(self) -> float:
        with self.lock:
            return self.now

    def sleep(self, seconds: float) -> None:
        with self.lock:
            self.sleeps.setdefault(threading.current_thread().name, []).append(seconds)


class FakeClient:
    def __init__(self, failing: set[str] = frozenset()):
        self.calls: list[tuple[str, str]] = []
        self.failing = failing

    def disable_user(self, username: str) -> None:
        self._call("disable", username)

    def enable_user(self, username: str) -> None:
        self._call("enable", username)

    def _call(self, operation: str, username: str) -> None:
        self.calls.append((operation, username))
        if username in self.failing:
            raise PanelError(f"panel refused {username}", panel_id=1)


class FakePool:
    def __init__(self, clients: dict[int, FakeClient]):
        self.clients = clients

    def client(self, panel_id: int) -> FakeClient:
        return self.clients[panel_id]


@pytest.fixture
def clock(monkeypatch):
    fake = FakeClock()
    monkeypatch.setattr(remote_ops, "monotonic", fake.monotonic)
    monkeypatch.setattr(remote_ops, "sleep", fake.sleep)
    return fake


def action(config_id: int, panel_id: int, operation: str = DISABLE) -> ConfigAction:
    return ConfigAction(config_id, panel_id, f"user{config_id}", operation, "disabled", "reseller_suspended", True)


def test_rate_limiter_spaces_calls(clock):
    limiter = RateLimiter(per_second=4)

    for _ in range(5):
        limiter.wait()

    waits = clock.sleeps[threading.current_thread().name]
    assert waits == pytest.approx([0.25, 0.5, 0.75, 1.0])


def test_busy_panel_does_not_delay_other_panel(clock):
    busy, quiet = FakeClient(), FakeClient()
    pool = FakePool({1: busy, 2: quiet})
    actions = [action(config_id, 1) for config_id in range(1, 7)] + [action(99, 2, ENABLE)]

    results = run_remote_operations(pool, actions, per_second=3)

    assert all(result.success for result in results.values())
    assert len(busy.calls) == 6
    assert quiet.calls == [("enable", "user99")]
    waits = list(clock.sleeps.values())
    # Only the busy panel's thread waited: 5 gaps of 1/3 s after its first call.
    assert len(waits) == 1
    assert sum(waits[0]) == pytest.approx(sum(index / 3 for index in range(1, 6)))


def test_failed_call_is_reported_per_config(clock):
    client = FakeClient(failing={"user2"})
    pool = FakePool({1: client})

    results = run_remote_operations(pool, [action(1, 1), action(2, 1), action(3, 1)], per_second=1000)

    assert results[1].success
    assert not results[2].success
    assert "user2" in results[2].error
    assert results[3].success
