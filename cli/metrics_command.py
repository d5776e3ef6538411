"""`metrics`: the sync's Prometheus metrics on stdout, in a file or over HTTP."""

from __future__ import annotations

import logging

import click
import peewee
from prometheus_client import generate_latest, start_http_server, write_to_textfile

from cli.context import redis_client, setup
from monitoring.metrics import build_registry

logger = logging.getLogger(__name__)

DEFAULT_SERVE_HOST = "127.0.0.1"


def _serve(registry, host: str, port: int) -> None:
    server, thread = start_http_server(port, addr=host, registry=registry)
    logger.info("Serving metrics on http://%s:%d/metrics", host, server.server_port)
    try:
        while thread.is_alive():
            thread.join(timeout=1)
    except KeyboardInterrupt:
        logger.info("Metrics server stopped")
    finally:
        server.shutdown()


@click.command("metrics")
@click.option("--output", "output_path", type=click.Path(dir_okay=False), default=None,
              help="Write to FILE instead of stdout, atomically (a temporary file in the same folder, then a "
                   "rename), for node-exporter's textfile collector; the name must end in .prom.")
@click.option("--serve", "serve_port", type=click.IntRange(0, 65535), default=None,
              help="Serve the metrics over HTTP on this port until interrupted (0 picks a free port).")
@click.option("--host", default=None, help=f"Address --serve binds to (default: {DEFAULT_SERVE_HOST}).")
def metrics_command(output_path: str | None, serve_port: int | None, host: str | None) -> None:
    """Print the sync's metrics in the Prometheus text format.

    Values come from the sync_runs table (last success, last duration,
    configs synced and failed, failing panels, pending remote operations)
    and from Redis (lock, queue depths, workers).
    """
    if output_path is not None and serve_port is not None:
        raise click.UsageError("--output and --serve cannot be combined: pick one")
    if host is not None and serve_port is None:
        raise click.UsageError(f"--host {host!r} only applies with --serve PORT")
    config = setup()
    if serve_port is not None:
        # Each scrape collects afresh; a failed collection fails that scrape with HTTP 500.
        registry = build_registry(redis_client(config), config, log_errors=True)
        _serve(registry, host or DEFAULT_SERVE_HOST, serve_port)
        return
    registry = build_registry(redis_client(config), config)
    try:
        if output_path is None:
            click.echo(generate_latest(registry).decode("utf-8"), nl=False)
        else:
            # prometheus_client 0.26 writes `<path>.<pid>.<thread>` and renames it over `path`.
            write_to_textfile(output_path, registry)
    except peewee.PeeweeException as error:
        # Redis errors are reported by OperatorGroup.
        raise click.ClickException(f"Reading sync_runs failed: {type(error).__name__}: {error}. "
                                   "Run `python manage.py db init` if the tables are missing.") from None
    except OSError as error:
        raise click.ClickException(f"Writing metrics to {output_path!r} failed: {error}; "
                                   "check that the folder exists and is writable") from None
