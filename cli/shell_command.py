"""`shell`: a Python shell with the database, Redis and the project's classes ready to use."""

from __future__ import annotations

import code
import sys
import traceback

import click

from cli.context import database, redis_client, setup
from jobs.sync_reseller_usage import SyncResellerUsageJob
from models import ALL_MODELS, database_proxy
from worker.config import Config
from worker.settings_store import SettingsStore
from worker.unique_lock import UniqueLock


def build_namespace(config: Config) -> dict:
    """Build the names the shell starts with: the models, settings, the Redis connection, the lock and the job."""
    connection = redis_client(config)
    namespace = {model.__name__: model for model in ALL_MODELS}
    namespace.update(
        config=config,
        db=database_proxy,
        connection=connection,
        SettingsStore=SettingsStore,
        settings=SettingsStore(connection),
        UniqueLock=UniqueLock,
        lock=UniqueLock(connection, config.lock_ttl_seconds),
        SyncResellerUsageJob=SyncResellerUsageJob,
    )
    return namespace


def _banner(namespace: dict) -> str:
    return ("reseller-usage-sync shell; the database is connected. Names: "
            + ", ".join(sorted(name for name in namespace if not name.startswith("__"))))


def _interact(namespace: dict, plain: bool) -> None:
    if not plain:
        try:
            import IPython
        except ImportError:
            pass
        else:
            IPython.start_ipython(argv=[], user_ns=namespace)
            return
    code.interact(banner=_banner(namespace), local=namespace, exitmsg="")


@click.command("shell")
@click.option("-c", "--command", "source", default=None,
              help="Run this Python code with the same names and exit, instead of starting a shell.")
@click.option("--plain", is_flag=True, help="Use Python's own shell even when IPython is installed.")
def shell_command(source: str | None, plain: bool) -> None:
    """Start a Python shell with the models, Setting, SettingsStore, Redis and SyncResellerUsageJob imported.

    The shell runs IPython when it is installed. With -c the code runs
    non-interactively; the exit code is 1 if it raises.
    """
    config = setup()
    namespace = build_namespace(config)
    with database(config):
        if source is None:
            _interact(namespace, plain)
            return
        try:
            exec(compile(source, "<shell -c>", "exec"), namespace)
        except Exception:
            traceback.print_exc()
            sys.exit(1)
