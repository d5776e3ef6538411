"""The strategy the bulk sync replaces: for each config, log in and fetch that one user.

The Laravel job did this one config after another. Here each config gets a
new login and one single-user read over real HTTP against the same
simulated panels. Each panel keeps one keep-alive connection, which favours
this strategy: it saves a TCP handshake per request.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from urllib.parse import quote

import httpx

from bench.simulated_panels import PANEL_PASSWORD, BenchPanel

# 3x-ui before 3.1 has no single-client read, so its configs are not sampled.
SAMPLED_KINDS = ("marzban", "marzneshin", "xui")
TIMEOUT_SECONDS = 30.0


@dataclass(frozen=True)
class PerConfigResult:
    configs: int
    wall_seconds: float

    @property
    def seconds_per_config(self) -> float:
        return self.wall_seconds / self.configs


def _login_form() -> dict[str, str]:
    return {"username": "admin", "password": PANEL_PASSWORD}


def _read_marzban(client: httpx.Client, username: str) -> int:
    token = client.post("/api/admin/token", data=_login_form()).raise_for_status().json()["access_token"]
    response = client.get(f"/api/user/{quote(username, safe='')}", headers={"Authorization": f"Bearer {token}"})
    return response.raise_for_status().json()["used_traffic"]


def _read_marzneshin(client: httpx.Client, username: str) -> int:
    token = client.post("/api/admins/token", data=_login_form()).raise_for_status().json()["access_token"]
    response = client.get(f"/api/users/{quote(username, safe='')}", headers={"Authorization": f"Bearer {token}"})
    return response.raise_for_status().json()["used_traffic"]


def _read_xui(client: httpx.Client, email: str) -> int:
    # 3x-ui 3.x: a CSRF token starts the session, then the login, then the read.
    client.cookies.clear()
    csrf = client.get("/csrf-token").raise_for_status().json()["obj"]
    headers = {"X-CSRF-Token": csrf}
    client.post("/login", data=_login_form(), headers=headers).raise_for_status()
    body = client.get(f"/panel/api/clients/get/{quote(email, safe='')}").raise_for_status().json()
    return body["obj"]["client"]["id"]


READERS = {"marzban": _read_marzban, "marzneshin": _read_marzneshin, "xui": _read_xui}


def sample_configs(panels: list[BenchPanel], sample_size: int) -> list[tuple[BenchPanel, str]]:
    """Pick `sample_size` users, round-robin over the sampled panels, spread over each panel's users."""
    eligible = [panel for panel in panels if panel.kind in SAMPLED_KINDS and panel.user_count > 0]
    if not eligible:
        return []
    picks = []
    for number in range(sample_size):
        panel = eligible[number % len(eligible)]
        round_number = number // len(eligible)
        rounds = max(1, -(-sample_size // len(eligible)))
        picks.append((panel, panel.username(round_number * panel.user_count // rounds)))
    return picks


def run_per_config(panels: list[BenchPanel], urls: dict[str, str], sample_size: int) -> PerConfigResult:
    """Read `sample_size` configs one after another, each with its own login."""
    picks = sample_configs(panels, sample_size)
    if not picks:
        raise SystemExit(f"--per-config-sample needs a panel of a type in {', '.join(SAMPLED_KINDS)}")
    clients = {
        panel.name: httpx.Client(base_url=urls[panel.name], timeout=TIMEOUT_SECONDS, trust_env=False,
                                 headers={"X-Requested-With": "XMLHttpRequest"})
        for panel, _ in picks
    }
    try:
        started = time.perf_counter()
        for panel, username in picks:
            READERS[panel.kind](clients[panel.name], username)
        wall = time.perf_counter() - started
    finally:
        for client in clients.values():
            client.close()
    return PerConfigResult(len(picks), wall)
