"""`status`: the lock, the queues and the last sync runs."""

from __future__ import annotations

import click
from rq import Queue

from cli.context import database, echo_json, redis_client, setup
from models import SyncRun
from worker.config import WORKER_QUEUE_NAMES
from worker.unique_lock import UniqueLock

RECENT_RUNS = 5


def _run_row(run: SyncRun) -> dict:
    return {
        "id": run.id, "job_id": run.job_id, "attempt": run.attempt, "status": run.status,
        "started_at": run.started_at, "finished_at": run.finished_at, "duration_seconds": run.duration_seconds,
        "resellers": run.resellers, "configs_synced": run.configs_synced, "configs_failed": run.configs_failed,
        "panels_failed": run.panels_failed, "error": run.error,
    }


@click.command("status")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON object.")
def status_command(as_json: bool) -> None:
    """Show the lock holder, queue depths and the last sync runs."""
    config = setup()
    connection = redis_client(config)
    state = UniqueLock(connection, config.lock_ttl_seconds).state()
    names = list(dict.fromkeys([*WORKER_QUEUE_NAMES, config.queue_name]))
    queues = {name: Queue(name, connection=connection).count for name in names}
    with database(config):
        runs = [_run_row(run) for run in SyncRun.select().order_by(SyncRun.id.desc()).limit(RECENT_RUNS)]
    data = {"lock": {"holder": state.holder, "seconds_left": state.seconds_left}, "queues": queues, "last_runs": runs}
    if as_json:
        echo_json(data)
        return
    lock_text = f"held by job {state.holder}, {state.seconds_left} s left" if state.holder else "free"
    click.echo(f"Lock:    {lock_text}")
    click.echo("Queues:  " + ", ".join(f"{name}={count}" for name, count in queues.items()))
    click.echo("Last runs:")
    for run in runs:
        duration = f"{run['duration_seconds']:.2f}s" if run["duration_seconds"] is not None else "-"
        click.echo(f"  #{run['id']} {run['started_at']:%Y-%m-%d %H:%M:%S} {run['status']:<9} {duration:>8} "
                   f"resellers={run['resellers']} synced={run['configs_synced']} failed={run['configs_failed']}"
                   + (f" error={run['error']}" if run["error"] else ""))
    if not runs:
        click.echo("  none yet")
