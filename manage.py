"""The operator CLI: `python manage.py --help`.

Logs go to stderr and command results to stdout, so `--json` output pipes cleanly.
"""

import click

from cli.db_commands import db_group
from cli.demo_commands import demo_command
from cli.lock_commands import lock_group
from cli.schedule_commands import schedule_group
from cli.settings_commands import settings_group
from cli.status_command import status_command
from cli.sync_commands import sync_group


@click.group()
def cli() -> None:
    """Operate reseller-usage-sync: settings, schedule, sync, lock, status, database."""


for command in (db_group, settings_group, schedule_group, sync_group, lock_group, status_command, demo_command):
    cli.add_command(command)


if __name__ == "__main__":
    cli()
