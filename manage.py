"""The operator CLI: `python manage.py --help`.

Logs go to stderr and command results to stdout, so `--json` output pipes cleanly.
"""

import click

from cli.audit_commands import audit_group
from cli.config_commands import configs_group
from cli.db_commands import db_group
from cli.demo_commands import demo_command
from cli.group import OperatorGroup
from cli.lock_commands import lock_group
from cli.metrics_command import metrics_command
from cli.panel_commands import panels_group
from cli.reseller_commands import resellers_group
from cli.schedule_commands import schedule_group
from cli.settings_commands import settings_group
from cli.shell_command import shell_command
from cli.status_command import status_command
from cli.sync_commands import sync_group


@click.group(cls=OperatorGroup)
def cli() -> None:
    """Operate reseller-usage-sync: settings, schedule, sync, lock, status, metrics, shell, database."""


for command in (db_group, settings_group, schedule_group, sync_group, lock_group, status_command, demo_command,
                panels_group, resellers_group, configs_group, audit_group, metrics_command, shell_command):
    cli.add_command(command)


if __name__ == "__main__":
    cli()
