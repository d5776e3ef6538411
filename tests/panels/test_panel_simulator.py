"""The panel simulator's own behaviour: counters, resets, scale and its CLI."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import tracemalloc
from pathlib import Path

import httpx
import pytest

from simulator import PanelSpec, Simulator
from simulator.store import UserStore

PROJECT_ROOT = Path(__file__).resolve().parents[2]
EXAMPLE_CONFIG = PROJECT_ROOT / "simulator" / "example.json"


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_counters_grow_with_time():
    clock = FakeClock()
    store = UserStore(clock)
    store.add("alice", used=100, rate=50.0)

    clock.now += 10
    view = store.view(store.require("alice"))

    assert view.used == 600
    assert view.lifetime == 600


def test_disabled_user_does_not_grow():
    clock = FakeClock()
    store = UserStore(clock)
    store.add("alice", used=100, rate=50.0, enabled=False)

    clock.now += 10

    assert store.view(store.require("alice")).used == 100


def test_reset_keeps_lifetime_counting():
    clock = FakeClock()
    store = UserStore(clock)
    store.add("alice", used=100, rate=10.0)
    index = store.require("alice")
    clock.now += 5
    store.reset(index, enable=False)

    clock.now += 5
    view = store.view(index)

    assert view.used == 50
    assert view.lifetime == 200


def test_bytes_per_read_adds_traffic():
    store = UserStore(FakeClock())
    store.add("alice", used=0)
    index = store.require("alice")

    store.view(index, bytes_per_read=7)

    assert store.view(index, bytes_per_read=7).used == 14


def test_generated_users_found_by_name():
    store = UserStore(FakeClock())
    store.add_generated("user", 1000)

    assert store.index_of("user999") == 999
    assert store.index_of("user1000") is None
    assert store.index_of("user007") is None


def test_removed_user_not_found():
    store = UserStore(FakeClock())
    store.add_generated("user", 10)
    store.remove("user3")

    assert store.index_of("user3") is None
    assert len(store) == 9
    assert 3 not in store.indices()


def test_million_users_fit_in_small_memory():
    tracemalloc.start()
    try:
        specs = [PanelSpec(name=f"p{i}", type=("marzban", "marzneshin", "xui")[i % 3],
                           generated_users={"prefix": "user", "count": 100_000, "rate": 1000.0})
                 for i in range(10)]
        sim = Simulator(specs)
        allocated, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert sum(sim.user_count(name) for name in sim.panel_names) == 1_000_000
    assert allocated < 64 * 1024 * 1024


def test_million_users_still_served():
    specs = [PanelSpec(name=f"p{i}", type="marzban",
                       generated_users={"prefix": "user", "count": 100_000}) for i in range(10)]
    with Simulator(specs) as sim:
        base = sim.url_for("p9")
        token = httpx.post(f"{base}/api/admin/token", data={"username": "admin", "password": "admin"})
        headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
        users = httpx.get(f"{base}/api/users", params={"username": "user99999"}, headers=headers)

    assert users.json()["users"][0]["username"] == "user99999"


def test_marzneshin_single_name_matches_substring():
    with Simulator([PanelSpec(name="mn", type="marzneshin")]) as sim:
        for name in ("ali", "alice", "bob"):
            sim.add_user("mn", name)
        base = sim.url_for("mn")
        token = httpx.post(f"{base}/api/admins/token", data={"username": "admin", "password": "admin"})
        headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
        users = httpx.get(f"{base}/api/users", params={"username": "ali"}, headers=headers)

    assert sorted(item["username"] for item in users.json()["items"]) == ["ali", "alice"]


def test_marzneshin_page_size_above_100_rejected():
    with Simulator([PanelSpec(name="mn", type="marzneshin")]) as sim:
        base = sim.url_for("mn")
        token = httpx.post(f"{base}/api/admins/token", data={"username": "admin", "password": "admin"})
        headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
        response = httpx.get(f"{base}/api/users", params={"size": "101"}, headers=headers)

    assert response.status_code == 422


@pytest.mark.parametrize(("version", "status"), [("2.8.3", 401), ("2.9.4", 404), ("3.0.2", 401)])
def test_xui_unauthenticated_status_by_version(version, status):
    with Simulator([PanelSpec(name="x", type="xui", version=version)]) as sim:
        response = httpx.get(f"{sim.url_for('x')}/panel/api/inbounds/list",
                           headers={"X-Requested-With": "XMLHttpRequest"})

    assert response.status_code == status


def test_xui_login_without_csrf_token_forbidden():
    with Simulator([PanelSpec(name="x", type="xui", version="3.0.0")]) as sim:
        response = httpx.post(f"{sim.url_for('x')}/login", data={"username": "admin", "password": "admin"})

    assert response.status_code == 403


def test_unknown_spec_key_rejected():
    with pytest.raises(ValueError, match="unknown keys \\['colour'\\]"):
        Simulator.from_config({"panels": [{"name": "a", "type": "marzban", "colour": "red"}]})


def test_example_config_builds():
    sim = Simulator.from_config(json.loads(EXAMPLE_CONFIG.read_text()))

    assert len(sim.panel_names) == 4


def test_cli_prints_panel_urls():
    process = subprocess.Popen(
        [sys.executable, "-m", "simulator", "--config", str(EXAMPLE_CONFIG)],
        cwd=PROJECT_ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.append(process.stdout.readline()), daemon=True)
    try:
        reader.start()
        reader.join(timeout=20)
    finally:
        process.terminate()
        process.wait(timeout=10)
    first_line = lines[0] if lines else ""

    assert first_line.split("\t")[0] == "marzban-demo"
    assert first_line.strip().split("\t")[-1].startswith("http://127.0.0.1:")
