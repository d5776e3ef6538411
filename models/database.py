"""The deferred database every model binds to, initialised from DATABASE_URL.

RQ forks a work horse for every job, so the entry points only *configure*
the database here; each job, command or scheduler tick opens its own
connection (`connection_context`) and closes it when done, and no
connection opened in a parent process is used in a child.
"""

from __future__ import annotations

import logging
from pathlib import Path
from urllib.parse import urlsplit

import peewee
from playhouse import db_url

from worker.errors import DatabaseUnavailableError

logger = logging.getLogger(__name__)

database_proxy = peewee.DatabaseProxy()

SQLITE_BUSY_TIMEOUT_SECONDS = 30
SQLITE_PRAGMAS = {
    # WAL lets the worker, the scheduler and the CLI read while one writes.
    "journal_mode": "wal",
    "synchronous": "normal",
    "foreign_keys": 1,
}
MYSQL_DRIVER_HINT = "pip install PyMySQL (pinned in requirements.txt)"
POSTGRES_DRIVER_HINT = "pip install psycopg2-binary (pinned in requirements.txt)"
SUPPORTED_SCHEMES = ("sqlite", "mysql", "postgres", "postgresql")


def redact_database_url(url: str) -> str:
    """Return `url` with its password replaced by `***`, for messages and logs."""
    parts = urlsplit(url)
    if not parts.password:
        return url
    return parts._replace(netloc=parts.netloc.replace(f":{parts.password}@", ":***@", 1)).geturl()


def _check_driver(scheme: str, url: str) -> None:
    if scheme == "mysql":
        try:
            import pymysql  # noqa: F401
        except ImportError:
            raise DatabaseUnavailableError(
                f"DATABASE_URL {redact_database_url(url)!r} needs a MySQL driver: {MYSQL_DRIVER_HINT}"
            ) from None
    if scheme in ("postgres", "postgresql"):
        try:
            import psycopg2  # noqa: F401
        except ImportError:
            raise DatabaseUnavailableError(
                f"DATABASE_URL {redact_database_url(url)!r} needs a PostgreSQL driver: {POSTGRES_DRIVER_HINT}"
            ) from None


def make_database(url: str) -> peewee.Database:
    """Build (without connecting) the peewee database for `url`."""
    scheme = urlsplit(url).scheme
    if scheme not in SUPPORTED_SCHEMES:
        raise DatabaseUnavailableError(
            f"DATABASE_URL must start with one of {', '.join(s + '://' for s in SUPPORTED_SCHEMES)}, "
            f"got {redact_database_url(url)!r}"
        )
    _check_driver(scheme, url)
    if scheme == "sqlite":
        path = urlsplit(url).path[1:]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        return db_url.connect(url, pragmas=SQLITE_PRAGMAS, timeout=SQLITE_BUSY_TIMEOUT_SECONDS)
    if scheme == "mysql":
        # utf8mb4 so usernames and emails with any character round-trip.
        return db_url.connect(url, unquote_password=True, charset="utf8mb4")
    return db_url.connect(url, unquote_password=True)


def init_database(url: str) -> peewee.Database:
    """Bind every model to the database at `url`; no connection is opened here."""
    try:
        database = make_database(url)
    except ValueError as error:
        raise DatabaseUnavailableError(f"DATABASE_URL {redact_database_url(url)!r} is invalid: {error}") from None
    if database_proxy.obj is not None and not database_proxy.obj.is_closed():
        database_proxy.obj.close()
    database_proxy.initialize(database)
    return database


def check_connection(url: str) -> None:
    """Open and close one connection, turning driver errors into a clear message."""
    try:
        database_proxy.connect(reuse_if_open=True)
    except peewee.OperationalError as error:
        raise DatabaseUnavailableError(
            f"Cannot connect to DATABASE_URL {redact_database_url(url)!r}: {error}. "
            "Check that the server is running, the database exists and the credentials are right."
        ) from None
    finally:
        if not database_proxy.is_closed():
            database_proxy.close()


def is_mysql() -> bool:
    return isinstance(database_proxy.obj, peewee.MySQLDatabase)


class BaseModel(peewee.Model):
    class Meta:
        database = database_proxy
        legacy_table_names = False


_bound_url: str | None = None


def ensure_database(url: str) -> peewee.Database:
    """Bind the models to `url` unless they already are; used by every entry point and job."""
    global _bound_url
    if _bound_url != url or database_proxy.obj is None:
        init_database(url)
        _bound_url = url
    return database_proxy.obj
