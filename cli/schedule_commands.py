"""`schedule list|run`: the gate's cron entry, the interval and one-off gate runs."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import click

from cli.context import database, echo_json, redis_client, setup
from jobs.gate import evaluate_tick, last_tick
from jobs.tick import is_due, parse_tick
from scheduler import GATE_CRON_ID, GATE_CRON_STRING
from worker.errors import InputError
from worker.settings_store import SettingsStore

NEXT_DUE_COUNT = 5
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
