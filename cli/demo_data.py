"""The demo's simulated panels and the rows that point at them."""

from __future__ import annotations

from models import Panel, Reseller, ResellerConfig, create_tables
from simulator import PanelSpec, Simulator

GIB = 1024**3
MIB = 1024**2
DEMO_PASSWORD = "demo-password"
DEMO_PANELS = (
    PanelSpec(name="demo-marzban", type="marzban", password=DEMO_PASSWORD, latency=0.01),
    PanelSpec(name="demo-marzneshin", type="marzneshin", password=DEMO_PASSWORD, latency=0.01),
    PanelSpec(name="demo-3x-ui", type="xui", password=DEMO_PASSWORD, latency=0.01, base_path="/panel-path/"),
)
# (name, type, quota, [(panel, username, bytes used at start, bytes a second)])
DEMO_RESELLERS = (
    ("Acme VPN", "traffic", 50 * GIB, [
        ("demo-marzban", "acme-alice", 1 * GIB, 2 * MIB),
        ("demo-marzneshin", "acme-bob", 3 * GIB, 1 * MIB),
        ("demo-3x-ui", "acme-carol@example.com", 0, 4 * MIB),
    ]),
    ("Globex Wallet", "wallet", 0, [
        ("demo-marzban", "globex-dave", 2 * GIB, 1 * MIB),
        ("demo-marzneshin", "globex-erin", 0, 3 * MIB),
    ]),
    ("Initech Net", "traffic", 1 * GIB, [
        ("demo-marzban", "initech-frank", 0, 8 * MIB),
        ("demo-3x-ui", "initech-grace@example.com", 0, 8 * MIB),
    ]),
)


def demo_simulator() -> Simulator:
    """Build (not start) the simulator with the demo's panels and users."""
    simulator = Simulator(PanelSpec(**{**spec.__dict__, "users": []}) for spec in DEMO_PANELS)
    for _, _, _, configs in DEMO_RESELLERS:
        for panel_name, username, used, rate in configs:
            simulator.add_user(panel_name, username, used=used, rate=rate)
    return simulator


def seed_demo_rows(simulator: Simulator) -> None:
    """Create the tables, point the demo panels at the running simulator and add the demo resellers once."""
    create_tables()
    panels = {}
    for spec in DEMO_PANELS:
        panel, _ = Panel.get_or_create(name=spec.name, defaults={
            "type": spec.type, "base_url": "", "username": spec.username, "password": spec.password})
        Panel.update(base_url=simulator.url_for(spec.name).rstrip("/")).where(Panel.id == panel.id).execute()
        panels[spec.name] = panel
    if Reseller.select().exists():
        return
    for name, kind, quota, configs in DEMO_RESELLERS:
        reseller = Reseller.create(name=name, type=kind, traffic_total_bytes=quota)
        for panel_name, username, _, _ in configs:
            ResellerConfig.create(reseller=reseller, panel=panels[panel_name], panel_username=username)
