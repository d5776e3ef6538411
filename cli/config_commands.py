"""`configs add|import|list`: resellers' VPN accounts and the panel users they are."""

from __future__ import annotations

import click
import peewee

from cli.context import database, echo_json, setup
from cli.sizes import SIZE, format_size
from cli.times import ISO_TIME
from models import Panel, Reseller, ResellerConfig, database_proxy

IMPORT_BATCH_SIZE = 500
MAX_USERNAME_LENGTH = 191


@click.group("configs")
def configs_group() -> None:
    """Add, import and list configs."""


def _require(reseller_id: int, panel_id: int) -> None:
    if not Reseller.select().where(Reseller.id == reseller_id).exists():
        raise click.ClickException(f"reseller {reseller_id} not found; see `python manage.py resellers list`")
    if not Panel.select().where(Panel.id == panel_id).exists():
        raise click.ClickException(f"panel {panel_id} not found; see `python manage.py panels list`")


def config_row(config: ResellerConfig) -> dict:
    return {
        "id": config.id, "reseller_id": config.reseller_id, "panel_id": config.panel_id,
        "username": config.panel_username, "status": config.status, "disabled_reason": config.disabled_reason,
        "usage_bytes": config.usage_bytes, "settled_usage_bytes": config.settled_usage_bytes,
        "consumed_bytes": config.consumed_bytes, "limit_bytes": config.limit_bytes, "expires_at": config.expires_at,
        "last_synced_at": config.last_synced_at, "last_sync_error": config.last_sync_error,
        "remote_pending": config.remote_pending,
    }


@configs_group.command("add")
@click.option("--reseller", "reseller_id", type=int, required=True, help="Reseller id.")
@click.option("--panel", "panel_id", type=int, required=True, help="Panel id.")
@click.option("--username", required=True, help="The panel's username (3x-ui: the client email).")
@click.option("--limit", "limit_bytes", type=SIZE, default=None, help="The config's own traffic limit.")
@click.option("--expires", type=ISO_TIME, default=None, help="The config's expiry time.")
def add_config(reseller_id, panel_id, username, limit_bytes, expires) -> None:
    """Add a config and print its id."""
    username = username.strip()
    if not username or len(username) > MAX_USERNAME_LENGTH:
        raise click.BadParameter(f"expected 1 to {MAX_USERNAME_LENGTH} characters, got {len(username)}",
                                 param_hint="--username")
    config = setup()
    with database(config):
        _require(reseller_id, panel_id)
        try:
            row = ResellerConfig.create(reseller=reseller_id, panel=panel_id, panel_username=username,
                                        limit_bytes=limit_bytes, expires_at=expires)
        except peewee.IntegrityError:
            raise click.ClickException(f"panel {panel_id} already has a config for user {username!r}") from None
    click.echo(row.id)


def read_usernames(stream) -> list[str]:
    """Read one username a line, skipping blanks, `#` comments and repeats; reject the whole file on a bad line."""
    try:
        lines = [line.strip() for line in stream]
    except UnicodeDecodeError as error:
        raise click.ClickException(f"the import file is not UTF-8 text ({error}); nothing was imported") from None
    names = list(dict.fromkeys(line for line in lines if line and not line.startswith("#")))
    too_long = [name for name in names if len(name) > MAX_USERNAME_LENGTH]
    if too_long:
        raise click.ClickException(f"{len(too_long)} usernames are longer than {MAX_USERNAME_LENGTH} characters "
                                   f"(first: {too_long[0][:40]!r}...); nothing was imported")
    return names


@configs_group.command("import")
@click.option("--reseller", "reseller_id", type=int, required=True, help="Reseller id.")
@click.option("--panel", "panel_id", type=int, required=True, help="Panel id.")
@click.argument("source", type=click.File("r"))
def import_configs(reseller_id, panel_id, source) -> None:
    """Add one config per panel username in SOURCE (one a line; `-` reads standard input).

    Usernames already on the panel are skipped; the counts are printed.
    """
    names = read_usernames(source)
    config = setup()
    with database(config):
        _require(reseller_id, panel_id)
        existing = {name for (name,) in ResellerConfig.select(ResellerConfig.panel_username)
                    .where(ResellerConfig.panel == panel_id).tuples()}
        new = [name for name in names if name not in existing]
        with database_proxy.atomic():
            for start in range(0, len(new), IMPORT_BATCH_SIZE):
                batch = [{"reseller": reseller_id, "panel": panel_id, "panel_username": name}
                         for name in new[start:start + IMPORT_BATCH_SIZE]]
                ResellerConfig.insert_many(batch).execute()
    click.echo(f"imported {len(new)} configs, skipped {len(names) - len(new)} already present")


@configs_group.command("list")
@click.option("--reseller", "reseller_id", type=int, default=None, help="Only this reseller's configs.")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list.")
def list_configs(reseller_id, as_json: bool) -> None:
    """List configs with their usage."""
    config = setup()
    with database(config):
        query = ResellerConfig.select().order_by(ResellerConfig.id)
        if reseller_id is not None:
            query = query.where(ResellerConfig.reseller == reseller_id)
        rows = [config_row(row) for row in query]
    if as_json:
        echo_json(rows)
        return
    click.echo(f"{'ID':>5} {'RESELLER':>8} {'PANEL':>5} {'USERNAME':24} {'STATUS':9} {'CONSUMED':>12} ERROR")
    for row in rows:
        click.echo(f"{row['id']:>5} {row['reseller_id']:>8} {row['panel_id']:>5} {row['username'][:24]:24} "
                   f"{row['status']:9} {format_size(row['consumed_bytes']):>12} {row['last_sync_error'] or ''}")
