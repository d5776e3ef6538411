"""`sync dispatch|run`: queue the sync or run it inline, always through the lock."""

from __future__ import annotations

import sys
import uuid

import click

from cli.context import echo_json, redis_client, setup
from jobs.sync_reseller_usage import SyncResellerUsageJob, run_inline
from usage.summary import SyncSummary
from worker.unique_lock import UniqueLock

EXIT_SKIPPED = 3


@click.group("sync")
def sync_group() -> None:
    """Start a usage sync now."""


def _skip_message(config) -> str:
    state = UniqueLock(redis_client(config), config.lock_ttl_seconds).state()
    return f"skipped: already queued or running (job {state.holder}, lock expires in {state.seconds_left} s)"


@sync_group.command("dispatch")
def dispatch_sync() -> None:
    """Queue SyncResellerUsageJob through the lock and print its job id."""
    config = setup()
    result = SyncResellerUsageJob.dispatch(redis_client(config), config)
    if result is None:
        click.echo(_skip_message(config))
        sys.exit(EXIT_SKIPPED)
    if isinstance(result, SyncSummary):
        click.echo(f"ran inline (QUEUE_CONNECTION=sync): {result.describe()}")
        return
    click.echo(result.id)


@sync_group.command("run")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
def run_sync(as_json: bool) -> None:
    """Run the sync in this process, through the lock; exit 0 when the run completed.

    Exit codes: 0 completed (some reads may have failed; the summary names
    them), 1 the run failed, 3 skipped because another sync holds the lock.
    """
    config = setup()
    connection = redis_client(config)
    job_id = f"inline-{uuid.uuid4().hex}"
    if not UniqueLock(connection, config.lock_ttl_seconds).acquire(job_id):
        click.echo(_skip_message(config))
        sys.exit(EXIT_SKIPPED)
    try:
        summary = run_inline(job_id, connection, config)
    except Exception as error:
        raise click.ClickException(f"sync run failed: {type(error).__name__}: {error}") from None
    if as_json:
        echo_json(summary.to_dict())
    else:
        click.echo(summary.describe())
