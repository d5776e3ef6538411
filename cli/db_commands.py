"""`db init` creates missing tables and indexes; `db check` compares the schema with the models."""

from __future__ import annotations

import sys

import click

from cli.context import database, echo_json, setup
from models import ALL_MODELS, create_tables, database_proxy
from models.database import backend_name, redact_database_url
from models.schema import find_schema_problems

EXIT_SCHEMA_MISMATCH = 1


@click.group("db")
def db_group() -> None:
    """Create and check the database schema."""


@db_group.command("init")
def init_db() -> None:
    """Create missing tables and indexes (safe to rerun)."""
    config = setup()
    with database(config):
        created = create_tables()
        problems = find_schema_problems(database_proxy.obj, ALL_MODELS)
    for item in created:
        click.echo(f"created {item}")
    click.echo(f"tables ready: {', '.join(model._meta.table_name for model in ALL_MODELS)}")
    for problem in problems:
        # Columns are never added or altered here; that needs a migration.
        click.echo(f"warning: {problem.describe()}; db init does not add or change columns", err=True)


@db_group.command("check")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON object instead of text.")
def check_db(as_json: bool) -> None:
    """Report missing tables, columns and indexes without changing anything.

    Exit 0 when the schema matches the models, 1 when it does not (or when the
    database cannot be reached).
    """
    config = setup()
    with database(config):
        problems = find_schema_problems(database_proxy.obj, ALL_MODELS)
    report = {
        "database_url": redact_database_url(config.database_url),
        "backend": backend_name(),
        "ok": not problems,
        "problems": [problem.to_dict() for problem in problems],
    }
    if as_json:
        echo_json(report)
    elif problems:
        for problem in problems:
            click.echo(problem.describe())
        click.echo(f"{len(problems)} schema problem(s); run `python manage.py db init` to create missing "
                   "tables and indexes")
    else:
        click.echo(f"schema matches the models ({len(ALL_MODELS)} tables)")
    if problems:
        sys.exit(EXIT_SCHEMA_MISMATCH)
