"""A click command class for the long-running processes: errors at start become one clear line."""

from __future__ import annotations

import click
import redis

from worker.config import get_config
from worker.errors import UsageSyncError
from worker.redis_connection import describe_redis_error


class ProcessCommand(click.Command):
    """Reports configuration and Redis errors as a message and exit code 1 instead of a traceback."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except UsageSyncError as error:
            raise click.ClickException(str(error)) from None
        except redis.RedisError as error:
            raise click.ClickException(describe_redis_error(get_config(), error)) from None
