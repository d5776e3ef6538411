"""`panels add|list|check`: the panels configs live on."""

from __future__ import annotations

from urllib.parse import urlsplit

import click
import peewee

from cli.context import database, echo_json, setup
from models import Panel
from models.panel import PANEL_TYPES
from panels import create_client
from usage.panel_settings import panel_settings
from worker.errors import UsageSyncError


@click.group("panels")
def panels_group() -> None:
    """Add, list and check panels."""


def panel_row(panel: Panel) -> dict:
    # The password and API token are never printed.
    return {"id": panel.id, "name": panel.name, "type": panel.type, "url": panel.base_url,
            "username": panel.username, "verify_tls": panel.verify_tls, "active": panel.is_active,
            "max_concurrent_requests": panel.max_concurrent_requests}


@panels_group.command("add")
@click.option("--name", required=True, help="Unique panel name.")
@click.option("--type", "panel_type", required=True, type=click.Choice(PANEL_TYPES), help="Panel software.")
@click.option("--url", required=True, help="Base URL; for 3x-ui include the web base path.")
@click.option("--username", required=True, help="Admin username.")
@click.option("--password", prompt=True, hide_input=True, envvar="PANEL_PASSWORD",
              help="Admin password (prompted for when omitted, or read from PANEL_PASSWORD).")
@click.option("--api-token", default=None, help="3x-ui 3.1+ API token (used instead of the session login).")
@click.option("--no-verify-tls", is_flag=True, help="Accept a self-signed certificate for this panel.")
@click.option("--max-concurrent-requests", type=click.IntRange(1, 64), default=4, show_default=True,
              help="Requests sent to this panel at once.")
def add_panel(name, panel_type, url, username, password, api_token, no_verify_tls, max_concurrent_requests) -> None:
    """Add a panel and print its id."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise click.BadParameter(f"expected an http:// or https:// URL with a host, got {url!r}", param_hint="--url")
    if not name.strip() or len(name) > 191:
        raise click.BadParameter("expected 1 to 191 characters", param_hint="--name")
    config = setup()
    with database(config):
        try:
            panel = Panel.create(name=name, type=panel_type, base_url=url.rstrip("/"), username=username,
                                 password=password, api_token=api_token, verify_tls=not no_verify_tls,
                                 max_concurrent_requests=max_concurrent_requests)
        except peewee.IntegrityError:
            raise click.ClickException(f"a panel named {name!r} already exists; pick another --name") from None
    click.echo(panel.id)


@panels_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list.")
def list_panels(as_json: bool) -> None:
    """List panels."""
    config = setup()
    with database(config):
        rows = [panel_row(panel) for panel in Panel.select().order_by(Panel.id)]
    if as_json:
        echo_json(rows)
        return
    click.echo(f"{'ID':>4} {'NAME':20} {'TYPE':11} {'TLS':6} {'ACTIVE':6} URL")
    for row in rows:
        tls = "verify" if row["verify_tls"] else "off"
        click.echo(f"{row['id']:>4} {row['name'][:20]:20} {row['type']:11} {tls:6} {str(row['active']):6} {row['url']}")


@panels_group.command("check")
@click.argument("panel_id", type=int)
@click.option("--json", "as_json", is_flag=True, help="Print a JSON object.")
def check_panel(panel_id: int, as_json: bool) -> None:
    """Log in to a panel and print its version and user count."""
    config = setup()
    with database(config):
        panel = Panel.get_or_none(Panel.id == panel_id)
    if panel is None:
        raise click.ClickException(f"panel {panel_id} not found; see `python manage.py panels list`")
    try:
        with create_client(panel_settings(panel)) as client:
            info = client.check()
    except UsageSyncError as error:
        raise click.ClickException(f"panel {panel_id} ({panel.name}) check failed: {error}") from None
    if as_json:
        echo_json({"id": panel.id, "name": panel.name, "version": info.version, "user_count": info.user_count})
        return
    click.echo(f"panel {panel.id} ({panel.name}): version {info.version or 'unknown'}, {info.user_count} users")
