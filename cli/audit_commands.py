"""`audit list`: the state changes the sync made."""

from __future__ import annotations

import click

from cli.context import database, echo_json, setup
from cli.times import ISO_TIME
from models import AuditLog

DEFAULT_LIMIT = 100


@click.group("audit")
def audit_group() -> None:
    """Read the audit trail of suspensions, reactivations and remote operations."""


@audit_group.command("list")
@click.option("--reseller", "reseller_id", type=int, default=None, help="Only rows about this reseller.")
@click.option("--since", type=ISO_TIME, default=None, help="Only rows at or after this time (ISO 8601).")
@click.option("--limit", type=click.IntRange(min=1), default=DEFAULT_LIMIT, show_default=True,
              help="Newest rows to show.")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list.")
def list_audit(reseller_id, since, limit, as_json) -> None:
    """List audit rows, oldest first, up to --limit newest rows."""
    config = setup()
    with database(config):
        query = AuditLog.select()
        if reseller_id is not None:
            query = query.where(AuditLog.reseller_id == reseller_id)
        if since is not None:
            query = query.where(AuditLog.created_at >= since)
        rows = list(query.order_by(AuditLog.id.desc()).limit(limit))[::-1]
        data = [{"id": row.id, "time": row.created_at, "action": row.action, "target_type": row.target_type,
                 "target_id": row.target_id, "reseller_id": row.reseller_id, "reason": row.reason,
                 "details": row.details_dict} for row in rows]
    if as_json:
        echo_json(data)
        return
    for row in data:
        details = " ".join(f"{key}={value}" for key, value in sorted(row["details"].items()))
        click.echo(f"{row['time']:%Y-%m-%d %H:%M:%S} {row['action']:24} {row['target_type']} {row['target_id']} "
                   f"reseller={row['reseller_id']} reason={row['reason']} {details}")
    if not data:
        click.echo("no audit rows")
