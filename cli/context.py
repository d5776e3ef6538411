"""What every command needs: configuration, logging, Redis and a bound database."""

from __future__ import annotations

import json
from contextlib import contextmanager
from datetime import date, datetime

import click
import redis

from models.database import check_connection, database_proxy, ensure_database
from worker.config import Config, get_config, use_utc
from worker.errors import UsageSyncError
from worker.logging_setup import configure_logging
from worker.redis_connection import get_redis


def setup() -> Config:
    """Configure the process for a command: UTC, logging to stderr, the database bound."""
    use_utc()
    try:
        config = get_config()
    except UsageSyncError as error:
        raise click.ClickException(str(error)) from None
    configure_logging(config.log_level, config.log_format)
    try:
        ensure_database(config.database_url)
    except UsageSyncError as error:
        raise click.ClickException(str(error)) from None
    return config


def redis_client(config: Config) -> redis.Redis:
    return get_redis(config)


@contextmanager
def database(config: Config):
    """Open one database connection for the command, with a clear error if it cannot."""
    try:
        check_connection(config.database_url)
    except UsageSyncError as error:
        raise click.ClickException(str(error)) from None
    with database_proxy.connection_context():
        yield


def _default(value):
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    return str(value)


def echo_json(data) -> None:
    click.echo(json.dumps(data, indent=2, default=_default))
