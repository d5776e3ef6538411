"""The worker process: an RQ worker on the project's queues, in priority order."""

from __future__ import annotations

import logging
import sys

import click
from rq import Queue, Worker

from models.database import check_connection
from worker.config import WORKER_QUEUE_NAMES, get_config, use_utc
from worker.errors import DatabaseUnavailableError
from worker.logging_setup import configure_logging
from worker.redis_connection import get_redis
from worker.process_command import ProcessCommand

logger = logging.getLogger("worker")


@click.command(cls=ProcessCommand)
@click.option("--burst", is_flag=True, help="Run the jobs that are queued, then exit.")
@click.option("--with-scheduler/--without-scheduler", default=True, show_default=True,
              help="Also run RQ's scheduler, which moves delayed retries back into their queues.")
@click.option("--queue", "queues", multiple=True,
              help=f"Queue to listen on, first one first; repeatable (default: {' '.join(WORKER_QUEUE_NAMES)}).")
@click.option("--name", default=None, help="Worker name shown in rq-dashboard (default: RQ's).")
def main(burst: bool, with_scheduler: bool, queues: tuple[str, ...], name: str | None) -> None:
    """Run an RQ worker for the usage sync jobs."""
    use_utc()
    config = get_config()
    configure_logging(config.log_level, config.log_format)
    # Fail at start on a bad DATABASE_URL. The check's connection is closed again before any
    # work horse is forked, and each job opens its own connection in its work horse.
    try:
        check_connection(config.database_url)
    except DatabaseUnavailableError as error:
        raise click.ClickException(str(error)) from None
    connection = get_redis(config)
    queue_names = list(queues) or list(WORKER_QUEUE_NAMES)
    if config.queue_name not in queue_names:
        queue_names.append(config.queue_name)
    worker = Worker([Queue(name, connection=connection) for name in queue_names], connection=connection, name=name)
    logger.info("Worker %s listening on %s", worker.name, ", ".join(queue_names))
    worker.work(burst=burst, with_scheduler=with_scheduler, logging_level=config.log_level)


if __name__ == "__main__":
    sys.exit(main())
