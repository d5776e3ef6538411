"""`status`: the lock, the queues, the workers, the last sync runs and a health verdict.

The exit code is the verdict, so a platform health check can run
`python manage.py status` as is: 0 healthy, 1 unhealthy (or Redis or the
database could not be read; OperatorGroup reports Redis errors).
"""

from __future__ import annotations

import sys

import click
import peewee

from cli.context import database, echo_json, redis_client, setup
from models import SyncRun
from monitoring.snapshot import Snapshot, WorkerInfo, as_utc, take_snapshot

EXIT_HEALTHY = 0
EXIT_UNHEALTHY = 1


def _run_row(run: SyncRun) -> dict:
    return {
        "id": run.id, "job_id": run.job_id, "attempt": run.attempt, "status": run.status,
        "started_at": as_utc(run.started_at), "finished_at": as_utc(run.finished_at),
        "duration_seconds": run.duration_seconds, "resellers": run.resellers,
        "configs_synced": run.configs_synced, "configs_failed": run.configs_failed,
        "panels_failed": run.panels_failed, "pending_operations": run.pending_operations, "error": run.error,
    }


def _worker_row(worker: WorkerInfo) -> dict:
    return {
        "name": worker.name, "state": worker.state, "queues": worker.queues,
        "current_job_id": worker.current_job_id, "last_heartbeat": worker.last_heartbeat,
        "successful_jobs": worker.successful_job_count, "failed_jobs": worker.failed_job_count,
    }


def status_data(snapshot: Snapshot) -> dict:
    """Build the object that `status --json` prints."""
    return {
        "healthy": snapshot.health.healthy,
        "health": snapshot.health.to_dict(),
        "interval_minutes": snapshot.interval_minutes,
        "interval_source": snapshot.interval_source,
        "lock": {"holder": snapshot.lock.holder, "seconds_left": snapshot.lock.seconds_left},
        "queues": snapshot.queue_depths,
        "failed_jobs": snapshot.failed_jobs,
        "workers": [_worker_row(worker) for worker in snapshot.workers],
        "last_runs": [_run_row(run) for run in snapshot.runs.recent],
        "taken_at": snapshot.taken_at,
    }


def _print_runs(runs: list[dict]) -> None:
    click.echo("Last runs:")
    if not runs:
        click.echo("  none yet")
    for run in runs:
        duration = f"{run['duration_seconds']:.2f}s" if run["duration_seconds"] is not None else "-"
        click.echo(f"  #{run['id']} {run['started_at']:%Y-%m-%d %H:%M:%S} {run['status']:<9} {duration:>8} "
                   f"resellers={run['resellers']} synced={run['configs_synced']} failed={run['configs_failed']} "
                   f"panels_failed={run['panels_failed']} pending={run['pending_operations']}"
                   + (f" error={run['error']}" if run["error"] else ""))


def _print_workers(workers: list[dict]) -> None:
    click.echo(f"Workers: {len(workers)}" + ("" if workers else " (is `python -m worker` running?)"))
    for worker in workers:
        job = f" job={worker['current_job_id']}" if worker["current_job_id"] else ""
        heartbeat = f"{worker['last_heartbeat']:%H:%M:%S}" if worker["last_heartbeat"] else "-"
        click.echo(f"  {worker['name']} {worker['state']} on {','.join(worker['queues'])}{job} "
                   f"heartbeat={heartbeat} ok={worker['successful_jobs']} failed={worker['failed_jobs']}")


def print_status(data: dict) -> None:
    health = data["health"]
    click.echo(f"Health:  {'healthy' if data['healthy'] else 'UNHEALTHY'}: {health['reason']}")
    click.echo(f"Interval: {data['interval_minutes']} minutes (from {data['interval_source']})")
    lock = data["lock"]
    lock_text = f"held by job {lock['holder']}, {lock['seconds_left']} s left" if lock["holder"] else "free"
    click.echo(f"Lock:    {lock_text}")
    click.echo("Queues:  " + ", ".join(f"{name}={count}" for name, count in data["queues"].items()))
    click.echo("Failed:  " + ", ".join(f"{name}={count}" for name, count in data["failed_jobs"].items()))
    _print_workers(data["workers"])
    _print_runs(data["last_runs"])


@click.command("status")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON object.")
def status_command(as_json: bool) -> None:
    """Show health, the lock, queue depths, workers and the last sync runs.

    Exit code 0 when a sync succeeded within 3 x interval + the job timeout,
    1 when none did or when Redis or the database cannot be read.
    """
    config = setup()
    connection = redis_client(config)
    try:
        with database(config):
            snapshot = take_snapshot(connection, config)
    except peewee.PeeweeException as error:
        raise click.ClickException(f"Reading sync_runs failed: {type(error).__name__}: {error}. "
                                   "Run `python manage.py db init` if the tables are missing.") from None
    data = status_data(snapshot)
    if as_json:
        echo_json(data)
    else:
        print_status(data)
    sys.exit(EXIT_HEALTHY if snapshot.health.healthy else EXIT_UNHEALTHY)
