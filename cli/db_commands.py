"""`db init`: create the tables."""

from __future__ import annotations

import click

from cli.context import database, setup
from models import ALL_MODELS, create_tables


@click.group("db")
def db_group() -> None:
    """Create and check the database schema."""


@db_group.command("init")
def init_db() -> None:
    """Create missing tables and indexes (safe to rerun)."""
    config = setup()
    with database(config):
        create_tables()
    click.echo(f"tables ready: {', '.join(model._meta.table_name for model in ALL_MODELS)}")
