"""`settings get|set|list`: the layered settings (Redis override, table, default)."""

from __future__ import annotations

import click
import redis

from cli.context import database, echo_json, redis_client, setup
from models import Setting
from models.setting import KEY_MAX_LENGTH
from worker.settings_store import INTERVAL_KEY, KNOWN_SETTINGS, OVERRIDE_HASH_KEY, SettingsStore


@click.group("settings")
def settings_group() -> None:
    """Read and change settings (the Redis hash usage-sync:settings overrides the table)."""


@settings_group.command("get")
@click.argument("key")
def get_setting(key: str) -> None:
    """Print the effective value of KEY and where it comes from."""
    config = setup()
    store = SettingsStore(redis_client(config))
    with database(config):
        value = store.lookup(key)
        if key == INTERVAL_KEY:
            interval, _ = store.interval_minutes()
            click.echo(f"{key} = {interval} ({value.source}, stored value {value.raw!r})")
            return
    shown = value.raw if value.raw is not None else KNOWN_SETTINGS.get(key, "(unset)")
    click.echo(f"{key} = {shown} ({value.source})")


@settings_group.command("set", context_settings={"ignore_unknown_options": True})
@click.argument("key")
@click.argument("value")
@click.option("--force", is_flag=True, help="Store a key the sync does not read (custom or future settings).")
def set_setting(key: str, value: str, force: bool) -> None:
    """Store VALUE for KEY in the settings table (a value may start with a dash).

    Invalid values are stored as given; the sync then falls back to the
    default and logs a warning naming the value.
    """
    if key not in KNOWN_SETTINGS and not force:
        raise click.BadParameter(f"unknown setting {key!r}; known: {', '.join(sorted(KNOWN_SETTINGS))} "
                                 "(use --force to store it anyway)", param_hint="KEY")
    if not key.strip() or len(key) > KEY_MAX_LENGTH:
        raise click.BadParameter(f"expected 1 to {KEY_MAX_LENGTH} characters", param_hint="KEY")
    config = setup()
    with database(config):
        Setting.set_value(key, value)
    click.echo(f"{key} = {value} (database)")
    try:
        overridden = redis_client(config).hexists(OVERRIDE_HASH_KEY, key)
    except redis.RedisError as error:
        click.echo(f"note: stored, but could not check the Redis override hash {OVERRIDE_HASH_KEY}: {error}", err=True)
        return
    if overridden:
        click.echo(f"note: the Redis hash {OVERRIDE_HASH_KEY} overrides {key}; HDEL it to use this value", err=True)


@settings_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list.")
def list_settings(as_json: bool) -> None:
    """Print every known or stored setting with each layer and the effective value."""
    config = setup()
    store = SettingsStore(redis_client(config))
    with database(config):
        stored = Setting.all_values()
    overrides = store.overrides()
    rows = []
    for key in sorted(set(KNOWN_SETTINGS) | set(stored) | set(overrides)):
        effective = overrides.get(key, stored.get(key, KNOWN_SETTINGS.get(key)))
        source = "default"
        if key in overrides:
            source = "redis"
        elif key in stored:
            source = "database"
        rows.append({"key": key, "redis": overrides.get(key), "database": stored.get(key),
                     "default": KNOWN_SETTINGS.get(key), "effective": effective, "source": source})
    if as_json:
        echo_json(rows)
        return
    click.echo(f"{'KEY':45} {'REDIS':>10} {'DATABASE':>10} {'DEFAULT':>10} {'EFFECTIVE':>10}")
    for row in rows:
        cells = [row[name] if row[name] is not None else "-" for name in ("redis", "database", "default", "effective")]
        click.echo(f"{row['key']:45} " + " ".join(f"{str(cell):>10}" for cell in cells))
