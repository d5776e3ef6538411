"""`demo seed|run|watch`: try the service out on a demo database."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import click
from honcho.manager import Manager

from cli.context import database, redis_client, setup
from models import Panel, Reseller, ResellerConfig, Setting, SyncRun, create_tables, database_proxy
from worker.config import PROJECT_ROOT
from worker.settings_store import INTERVAL_KEY, OVERRIDE_HASH_KEY

GIB = 1024**3
DEMO_DATABASE_URL = f"sqlite:///{PROJECT_ROOT / 'var' / 'demo.sqlite3'}"
DEMO_RESELLERS = (
    ("Acme VPN", "traffic", 50 * GIB),
    ("Globex Wallet", "wallet", 0),
    ("Initech Net", "traffic", 5 * GIB),
)
CONFIGS_PER_RESELLER = 3
WATCH_POLL_SECONDS = 2


@click.group("demo")
def demo_command() -> None:
    """Demo data and processes for trying the service out."""


def seed_rows() -> int:
    """Create the tables and the demo resellers and configs unless resellers exist; return resellers added."""
    create_tables()
    if Reseller.select().exists():
        return 0
    panel = Panel.create(name="demo-marzban", type="marzban", base_url="http://127.0.0.1:9",
                         username="admin", password="demo")
    for index, (name, kind, quota) in enumerate(DEMO_RESELLERS, start=1):
        reseller = Reseller.create(name=name, type=kind, traffic_total_bytes=quota)
        for number in range(CONFIGS_PER_RESELLER):
            ResellerConfig.create(reseller=reseller, panel=panel, panel_username=f"r{index}-user{number}",
                                  usage_bytes=(number + 1) * index * GIB // 4)
    return len(DEMO_RESELLERS)


@demo_command.command("seed")
@click.option("--interval", type=click.IntRange(1, 5), default=1, show_default=True,
              help="Sync interval in minutes to store in the settings table.")
def seed_demo(interval: int) -> None:
    """Create the tables and a few resellers and configs (skipped when resellers exist)."""
    config = setup()
    with database(config):
        added = seed_rows()
        Setting.set_value(INTERVAL_KEY, str(interval))
    click.echo(f"seeded {added} resellers; interval {interval} minutes")


def print_usage_table() -> None:
    click.echo(f"{'ID':>3} {'RESELLER':16} {'TYPE':8} {'STATUS':10} {'USED GiB':>9} {'QUOTA GiB':>9} LAST SYNC")
    for reseller in Reseller.select().order_by(Reseller.id):
        synced = f"{reseller.last_synced_at:%H:%M:%S}" if reseller.last_synced_at else "-"
        click.echo(f"{reseller.id:>3} {reseller.name[:16]:16} {reseller.type:8} {reseller.status:10} "
                   f"{reseller.traffic_used_bytes / GIB:>9.2f} {reseller.traffic_total_bytes / GIB:>9.2f} {synced}")


@demo_command.command("watch")
@click.option("--syncs", type=click.IntRange(min=1), default=2, show_default=True,
              help="Exit after this many successful syncs.")
def watch_demo(syncs: int) -> None:
    """Print the usage table after each successful sync; exit after --syncs of them."""
    config = setup()
    seen = 0
    while seen < syncs:
        with database(config):
            runs = list(SyncRun.select().where(SyncRun.status == "succeeded").order_by(SyncRun.id))
            for run in runs[seen:]:
                click.echo(f"\nSync run #{run.id} ({run.job_id}) succeeded in {run.duration_seconds:.2f} s:")
                print_usage_table()
            seen = len(runs)
        time.sleep(WATCH_POLL_SECONDS)
    click.echo(f"\n{syncs} syncs completed; the demo stops here.")


@demo_command.command("run")
@click.option("--syncs", type=click.IntRange(min=1), default=2, show_default=True,
              help="Stop after this many successful syncs.")
def run_demo(syncs: int) -> None:
    """Seed a demo SQLite database and run the scheduler and a worker (interval 1) until --syncs syncs."""
    os.environ.setdefault("DATABASE_URL", DEMO_DATABASE_URL)
    config = setup()
    with database(config):
        seed_rows()
    redis_client(config).hset(OVERRIDE_HASH_KEY, INTERVAL_KEY, "1")
    click.echo(f"Demo database: {config.database_url}; interval 1 minute (Redis override {OVERRIDE_HASH_KEY}).")
    click.echo("The first sync starts at the next minute boundary.")
    database_proxy.close()
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    manager = Manager()
    manager.add_process("scheduler", f"{sys.executable} scheduler.py", env=env, cwd=str(PROJECT_ROOT))
    manager.add_process("worker", f"{sys.executable} -m worker --with-scheduler", env=env, cwd=str(PROJECT_ROOT))
    manager.add_process("watch", f"{sys.executable} manage.py demo watch --syncs {syncs}", env=env,
                        cwd=str(PROJECT_ROOT))
    manager.loop()
    redis_client(config).hdel(OVERRIDE_HASH_KEY, INTERVAL_KEY)
    sys.exit(0 if manager.returncode in (0, None) else manager.returncode)
