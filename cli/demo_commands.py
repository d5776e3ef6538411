"""`demo`: try the service out on simulated panels and a demo database."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import click
from honcho.manager import Manager

from cli.context import database, redis_client, setup
from cli.demo_data import demo_simulator, seed_demo_rows
from cli.sizes import format_size
from jobs.sync_reseller_usage import run_inline
from models import Reseller, SyncRun, database_proxy
from peewee import fn
from worker.config import PROJECT_ROOT, set_config
from worker.settings_store import INTERVAL_KEY, OVERRIDE_HASH_KEY
from worker.unique_lock import UniqueLock

DEMO_DATABASE_URL = f"sqlite:///{PROJECT_ROOT / 'var' / 'demo.sqlite3'}"
WATCH_POLL_SECONDS = 2


def print_usage_table() -> None:
    click.echo(f"{'ID':>3} {'RESELLER':16} {'TYPE':8} {'STATUS':10} {'USED':>12} {'QUOTA':>12} LAST SYNC")
    for reseller in Reseller.select().order_by(Reseller.id):
        synced = f"{reseller.last_synced_at:%H:%M:%S}" if reseller.last_synced_at else "-"
        click.echo(f"{reseller.id:>3} {reseller.name[:16]:16} {reseller.type:8} {reseller.status:10} "
                   f"{format_size(reseller.traffic_used_bytes):>12} {format_size(reseller.traffic_total_bytes):>12} "
                   f"{synced}")


@click.group("demo", invoke_without_command=True)
@click.option("--once", is_flag=True, help="Run one sync inline, print the usage table and exit.")
@click.option("--syncs", type=click.IntRange(min=1), default=2, show_default=True,
              help="Without --once: stop after this many successful syncs.")
@click.option("--database-url", default=DEMO_DATABASE_URL, show_default=True,
              help="The demo's own database. DATABASE_URL is ignored so the demo never touches real data.")
@click.pass_context
def demo_command(context: click.Context, once: bool, syncs: int, database_url: str) -> None:
    """Run the service on simulated panels and a demo SQLite database (var/demo.sqlite3).

    Without --once it starts the scheduler, a worker and a watcher with a
    1-minute interval, prints the usage table after each sync and stops
    after --syncs syncs.
    """
    if context.invoked_subcommand is not None:
        return
    # The demo seeds panels and enforces quotas, so it never runs on the operator's database.
    os.environ["DATABASE_URL"] = database_url
    if database_url == DEMO_DATABASE_URL:
        # The simulated panels start from scratch every time, so the demo's own database does too.
        for suffix in ("", "-wal", "-shm"):
            Path(DEMO_DATABASE_URL.removeprefix("sqlite:///") + suffix).unlink(missing_ok=True)
    set_config(None)
    config = setup()
    with demo_simulator() as simulator:
        with database(config):
            seed_demo_rows(simulator)
        if once:
            run_once(config)
        else:
            run_processes(config, syncs)


def run_once(config) -> None:
    connection = redis_client(config)
    token = f"demo-{os.getpid()}"
    if not UniqueLock(connection, config.lock_ttl_seconds).acquire(token):
        raise click.ClickException("another sync holds the lock; see `python manage.py lock show`")
    summary = run_inline(token, connection, config)
    click.echo(summary.describe())
    with database(config):
        print_usage_table()


def run_processes(config, syncs: int) -> None:
    connection = redis_client(config)
    connection.hset(OVERRIDE_HASH_KEY, INTERVAL_KEY, "1")
    click.echo(f"Demo database: {config.database_url}; interval 1 minute (Redis override {OVERRIDE_HASH_KEY}).")
    click.echo("The first sync starts at the next minute boundary.")
    database_proxy.close()
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    manager = Manager()
    for name, command in (("scheduler", "scheduler.py"), ("worker", "-m worker --with-scheduler"),
                          ("watch", f"manage.py demo watch --syncs {syncs}")):
        manager.add_process(name, f"{sys.executable} {command}", env=env, cwd=str(PROJECT_ROOT))
    try:
        manager.loop()
    finally:
        connection.hdel(OVERRIDE_HASH_KEY, INTERVAL_KEY)
    if manager.returncode not in (0, None):
        sys.exit(manager.returncode)


@demo_command.command("watch")
@click.option("--syncs", type=click.IntRange(min=1), default=2, show_default=True,
              help="Exit after this many successful syncs.")
def watch_demo(syncs: int) -> None:
    """Print the usage table after each successful sync from now on; exit after --syncs of them."""
    config = setup()
    with database(config):
        # Runs from before the watcher started are not counted.
        last_seen_id = SyncRun.select(fn.MAX(SyncRun.id)).scalar() or 0
    printed = 0
    while printed < syncs:
        time.sleep(WATCH_POLL_SECONDS)
        with database(config):
            runs = list(SyncRun.select().where((SyncRun.id > last_seen_id) & (SyncRun.status == "succeeded"))
                        .order_by(SyncRun.id))
            for run in runs:
                click.echo(f"\nSync run #{run.id} ({run.job_id}) succeeded in {run.duration_seconds:.2f} s:")
                print_usage_table()
                last_seen_id = run.id
                printed += 1
    click.echo(f"\n{printed} syncs completed; the demo stops here.")
