"""`schedule list|run|test`: the gate's cron entry, the interval, one-off gate runs and a dry run over a range."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import click

from cli.context import database, echo_json, redis_client, setup
from jobs.gate import evaluate_tick, last_tick
from jobs.tick import due_ticks, is_due, parse_tick
from scheduler import GATE_CRON_ID, GATE_CRON_STRING
from worker.errors import InputError
from worker.settings_store import SettingsStore

NEXT_DUE_COUNT = 5
# One week of ticks; a longer range only repeats the same hourly pattern.
MAX_SIMULATED_MINUTES = 7 * 24 * 60
TICK_FORMAT = "%Y-%m-%dT%H:%MZ"
SCHEDULED_JOBS_KEY = "rq:scheduler:scheduled_jobs"


@click.group("schedule")
def schedule_group() -> None:
    """Inspect the minute schedule and run the gate by hand."""


def next_due_ticks(start: datetime, interval: int, count: int) -> list[datetime]:
    tick = parse_tick(start) + timedelta(minutes=1)
    found = []
    while len(found) < count:
        if is_due(tick, interval):
            found.append(tick)
        tick += timedelta(minutes=1)
    return found


def running_schedulers(connection) -> int:
    """Count live rq-scheduler processes: each keeps a key that expires soon after it stops polling."""
    count = 0
    for key in connection.scan_iter(match="rq:scheduler_instance:*"):
        if not connection.hexists(key, "death"):
            count += 1
    return count


@schedule_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON object.")
def list_schedule(as_json: bool) -> None:
    """Show the gate entry, the effective interval, the next due minutes and the last tick."""
    config = setup()
    connection = redis_client(config)
    with database(config):
        interval, setting = SettingsStore(connection).interval_minutes()
    score = connection.zscore(SCHEDULED_JOBS_KEY, GATE_CRON_ID)
    next_run = datetime.fromtimestamp(score, timezone.utc).isoformat() if score else None
    due = [tick.strftime("%Y-%m-%dT%H:%MZ") for tick in next_due_ticks(datetime.now(timezone.utc), interval, NEXT_DUE_COUNT)]
    data = {
        "entry": {"id": GATE_CRON_ID, "cron": GATE_CRON_STRING, "registered": score is not None, "next_run": next_run},
        "schedulers_running": running_schedulers(connection),
        "interval_minutes": interval,
        "interval_source": setting.source,
        "interval_raw": setting.raw,
        "next_due": due,
        "last_tick": last_tick(connection) or None,
    }
    if as_json:
        echo_json(data)
        return
    entry_state = f"next run {next_run}" if score else "NOT registered (is the scheduler running?)"
    click.echo(f"Gate entry:  {GATE_CRON_ID} '{GATE_CRON_STRING}' (UTC), {entry_state}")
    schedulers = data["schedulers_running"]
    click.echo(f"Schedulers:  {schedulers} running" if schedulers else
               "Schedulers:  NONE running (the entry stays in Redis, but nothing enqueues it: start `scheduler`)")
    click.echo(f"Interval:    {interval} minutes (from {setting.source}, raw value {setting.raw!r})")
    click.echo(f"Next due:    {', '.join(due)}")
    tick = data["last_tick"]
    click.echo(f"Last tick:   {tick['tick']} -> {tick['outcome']}" if tick else "Last tick:   none recorded")


@schedule_group.command("run")
@click.option("--at", "at", default=None, help="Tick time, ISO 8601 (default: this minute, UTC).")
def run_schedule(at: str | None) -> None:
    """Run the gate once for a tick in this process, whatever the tick's age."""
    config = setup()
    try:
        tick = parse_tick(at) if at else parse_tick(datetime.now(timezone.utc))
    except InputError as error:
        raise click.BadParameter(str(error), param_hint="--at") from None
    outcome = evaluate_tick(tick, redis_client(config), config, force=True)
    if outcome.outcome == "dispatched":
        job = outcome.job_id or "(ran inline)"
        click.echo(f"{outcome.tick}: dispatched SyncResellerUsageJob {job} (interval: {outcome.interval} minutes)")
    else:
        click.echo(f"{outcome.tick}: {outcome.outcome}")


@schedule_group.command("test")
@click.option("--from", "start", default=None,
              help="First tick, ISO 8601; a time without a zone is UTC (default: this minute).")
@click.option("--minutes", type=click.IntRange(1, MAX_SIMULATED_MINUTES), default=60, show_default=True,
              help="Number of one-minute ticks to simulate.")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON object.")
def test_schedule(start: str | None, minutes: int, as_json: bool) -> None:
    """Print which ticks in a range would dispatch the sync with the current interval.

    The interval is read once, through the same layers as the gate (Redis
    hash, settings table, default). Nothing is queued and no tick is claimed.
    A sync that is still running when a due tick comes would make that tick
    skip its dispatch; this dry run does not model that.
    """
    config = setup()
    try:
        first = parse_tick(start) if start else parse_tick(datetime.now(timezone.utc))
    except InputError as error:
        raise click.BadParameter(str(error), param_hint="--from") from None
    with database(config):
        interval, setting = SettingsStore(redis_client(config)).interval_minutes()
    dispatches = [tick.strftime(TICK_FORMAT) for tick in due_ticks(first, minutes, interval)]
    last = first + timedelta(minutes=minutes - 1)
    data = {
        "from": first.strftime(TICK_FORMAT), "to": last.strftime(TICK_FORMAT), "minutes": minutes,
        "interval_minutes": interval, "interval_source": setting.source, "interval_raw": setting.raw,
        "dispatch_count": len(dispatches), "dispatches": dispatches,
    }
    if as_json:
        echo_json(data)
        return
    click.echo(f"Interval: {interval} minutes (from {setting.source}, raw value {setting.raw!r})")
    click.echo(f"Ticks:    {data['from']} to {data['to']} ({minutes}); a dry run, nothing is queued or claimed")
    for tick in dispatches:
        click.echo(f"{tick}  dispatch")
    click.echo(f"{len(dispatches)} of {minutes} ticks dispatch SyncResellerUsageJob")
