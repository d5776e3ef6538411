"""`resellers add|list|show`."""

from __future__ import annotations

import click
from peewee import fn

from cli.context import database, echo_json, setup
from cli.sizes import SIZE, format_size
from cli.times import ISO_TIME
from models import Reseller, ResellerConfig
from models.reseller import RESELLER_TYPES

MAX_NAME_LENGTH = 191


@click.group("resellers")
def resellers_group() -> None:
    """Add, list and show resellers."""


def reseller_row(reseller: Reseller) -> dict:
    return {
        "id": reseller.id, "name": reseller.name, "type": reseller.type, "status": reseller.status,
        "suspension_reason": reseller.suspension_reason,
        "traffic_total_bytes": reseller.traffic_total_bytes, "traffic_used_bytes": reseller.traffic_used_bytes,
        "admin_forgiven_bytes": reseller.admin_forgiven_bytes,
        "window_starts_at": reseller.window_starts_at, "window_ends_at": reseller.window_ends_at,
        "last_synced_at": reseller.last_synced_at,
    }


@resellers_group.command("add")
@click.option("--name", required=True, help="Reseller name.")
@click.option("--type", "reseller_type", type=click.Choice(RESELLER_TYPES), default="traffic", show_default=True,
              help="traffic resellers are enforced; wallet resellers are tracked only.")
@click.option("--quota", type=SIZE, default="0", help="Traffic quota, e.g. 500GiB, 1.5TB or bytes.")
@click.option("--window-starts", type=ISO_TIME, default=None, help="Start of the reseller's time window.")
@click.option("--window-ends", type=ISO_TIME, default=None, help="End of the reseller's time window.")
def add_reseller(name, reseller_type, quota, window_starts, window_ends) -> None:
    """Add a reseller and print its id."""
    name = check_name(name)
    check_window(window_starts, window_ends)
    if reseller_type == "traffic" and quota <= 0:
        raise click.BadParameter("a traffic reseller needs a positive quota, e.g. --quota 500GiB", param_hint="--quota")
    config = setup()
    with database(config):
        reseller = Reseller.create(name=name, type=reseller_type, traffic_total_bytes=quota,
                                   window_starts_at=window_starts, window_ends_at=window_ends)
    click.echo(reseller.id)


def check_name(name: str) -> str:
    name = name.strip()
    if not name or len(name) > MAX_NAME_LENGTH:
        raise click.BadParameter(f"expected 1 to {MAX_NAME_LENGTH} characters, got {len(name)}", param_hint="--name")
    return name


def check_window(starts, ends) -> None:
    if starts is not None and ends is not None and ends <= starts:
        raise click.BadParameter(f"the window must end after it starts ({starts.isoformat()})",
                                 param_hint="--window-ends")


@resellers_group.command("update")
@click.argument("reseller_id", type=int)
@click.option("--quota", type=SIZE, default=None, help="New traffic quota, e.g. 500GiB.")
@click.option("--forgive", "forgiven", type=SIZE, default=None,
              help="Set the forgiven bytes (subtracted from usage), e.g. 10GiB; 0 clears it.")
@click.option("--window-starts", type=ISO_TIME, default=None, help="New start of the time window.")
@click.option("--window-ends", type=ISO_TIME, default=None, help="New end of the time window.")
@click.option("--clear-window-end", is_flag=True, help="Remove the window's end (no time limit).")
def update_reseller(reseller_id, quota, forgiven, window_starts, window_ends, clear_window_end) -> None:
    """Change a reseller's quota, forgiven bytes or window; the next sync applies it (suspends or reactivates)."""
    config = setup()
    with database(config):
        reseller = Reseller.get_or_none(Reseller.id == reseller_id)
        if reseller is None:
            raise click.ClickException(f"reseller {reseller_id} not found; see `python manage.py resellers list`")
        fields = {}
        if quota is not None:
            fields[Reseller.traffic_total_bytes] = quota
        if forgiven is not None:
            fields[Reseller.admin_forgiven_bytes] = forgiven
        if window_starts is not None:
            fields[Reseller.window_starts_at] = window_starts
        if window_ends is not None or clear_window_end:
            fields[Reseller.window_ends_at] = None if clear_window_end else window_ends
        check_window(fields.get(Reseller.window_starts_at, reseller.window_starts_at),
                     fields.get(Reseller.window_ends_at, reseller.window_ends_at))
        if not fields:
            raise click.UsageError("nothing to change: give --quota, --forgive, --window-starts or --window-ends")
        Reseller.update(fields).where(Reseller.id == reseller_id).execute()
    click.echo(f"reseller {reseller_id} updated; the next sync applies it")


@resellers_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list.")
def list_resellers(as_json: bool) -> None:
    """List resellers with their usage."""
    config = setup()
    with database(config):
        rows = [reseller_row(reseller) for reseller in Reseller.select().order_by(Reseller.id)]
    if as_json:
        echo_json(rows)
        return
    click.echo(f"{'ID':>4} {'NAME':20} {'TYPE':8} {'STATUS':10} {'USED':>12} {'QUOTA':>12} WINDOW ENDS")
    for row in rows:
        ends = row["window_ends_at"].isoformat() if row["window_ends_at"] else "-"
        click.echo(f"{row['id']:>4} {row['name'][:20]:20} {row['type']:8} {row['status']:10} "
                   f"{format_size(row['traffic_used_bytes']):>12} {format_size(row['traffic_total_bytes']):>12} {ends}")


@resellers_group.command("show")
@click.argument("reseller_id", type=int)
@click.option("--json", "as_json", is_flag=True, help="Print a JSON object.")
def show_reseller(reseller_id: int, as_json: bool) -> None:
    """Show one reseller and a count of its configs by status."""
    config = setup()
    with database(config):
        reseller = Reseller.get_or_none(Reseller.id == reseller_id)
        if reseller is None:
            raise click.ClickException(f"reseller {reseller_id} not found; see `python manage.py resellers list`")
        row = reseller_row(reseller)
        query = (ResellerConfig.select(ResellerConfig.status, fn.COUNT(ResellerConfig.id))
                 .where(ResellerConfig.reseller == reseller_id)
                 .group_by(ResellerConfig.status))
        counts = dict(query.tuples())
    row["configs"] = counts
    if as_json:
        echo_json(row)
        return
    for key, value in row.items():
        shown = format_size(value) if key.endswith("_bytes") else value
        click.echo(f"{key:22} {shown}")
