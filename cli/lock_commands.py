"""`lock show|release`: inspect or clear the sync's unique lock."""

from __future__ import annotations

import logging

import click

from cli.context import echo_json, redis_client, setup
from worker.unique_lock import UniqueLock

logger = logging.getLogger(__name__)


@click.group("lock")
def lock_group() -> None:
    """Inspect or clear the lock that keeps one sync at a time."""


@lock_group.command("show")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON object.")
def show_lock(as_json: bool) -> None:
    """Print the job that holds the lock and the seconds left."""
    config = setup()
    lock = UniqueLock(redis_client(config), config.lock_ttl_seconds)
    state = lock.state()
    if as_json:
        echo_json({"key": lock.key, "holder": state.holder, "seconds_left": state.seconds_left})
        return
    if state.holder is None:
        click.echo(f"{lock.key}: free")
    else:
        click.echo(f"{lock.key}: held by job {state.holder}, expires in {state.seconds_left} s")


@lock_group.command("release")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def release_lock(yes: bool) -> None:
    """Delete the lock whoever holds it (a running sync keeps running, and a second may start)."""
    config = setup()
    lock = UniqueLock(redis_client(config), config.lock_ttl_seconds)
    if not yes:
        click.confirm("Force-release the sync lock?", abort=True, err=True)
    holder = lock.force_release()
    if holder is None:
        click.echo("the lock was free")
        return
    logger.warning("Sync lock force-released by an operator (was held by job %s)", holder)
    click.echo(f"released the lock held by job {holder}")
