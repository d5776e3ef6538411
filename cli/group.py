"""The `manage.py` command group, which turns a Redis failure in any command into one clear error."""

from __future__ import annotations

import click
import peewee
import redis

from worker.config import get_config
from worker.errors import UsageSyncError
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
        except UsageSyncError as error:
            raise click.ClickException(str(error)) from None
        except peewee.DatabaseError as error:
            raise click.ClickException(describe_database_error(error)) from None


def describe_database_error(error: peewee.DatabaseError) -> str:
    """Describe a database error in one line, with the usual fix for a schema that was never created."""
    text = str(error)
    if "no such table" in text or "doesn't exist" in text or "does not exist" in text or "no such column" in text:
        return (f"database error: {text}. The schema is missing or out of date: "
                "run `python manage.py db init`, then `python manage.py db check`.")
    return f"database error: {text}"
