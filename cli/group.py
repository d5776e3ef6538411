"""The `manage.py` command group, which turns a Redis failure in any command into one clear error."""

from __future__ import annotations

import click
import redis

from worker.config import get_config
from worker.redis_connection import describe_redis_error


class OperatorGroup(click.Group):
    """A click group that reports Redis errors as a message and exit code 1 instead of a traceback.

    A TLS certificate that cannot be verified, a wrong password or a server
    that is down then reads the same in every command, with the fix.
    """

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except redis.RedisError as error:
            raise click.ClickException(describe_redis_error(get_config(), error)) from None
