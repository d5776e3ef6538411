"""The deferred database every model binds to, initialised from DATABASE_URL.

RQ forks a work horse for every job, so the entry points only *configure*
the database here. Each job, command or gate run opens its own connection
(`models.connections.job_connection`, `connection_context`) and closes it
when done. No connection opened in a parent process is used in a child.
"""

from __future__ import annotations

import logging
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import peewee
from playhouse import db_url
from playhouse.shortcuts import ReconnectMixin

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
# peewee 4.5.3 declares DateTimeField as DATETIME, which MySQL and MariaDB store to the whole
# second; DATETIME(6) keeps microseconds, as PostgreSQL's TIMESTAMP and SQLite's text do.
MYSQL_FIELD_TYPES = {"DATETIME": "DATETIME(6)"}
URL_FORMS = (
    "sqlite:///path/to/file.sqlite3, mysql://user:password@host:3306/dbname, "
    "postgresql://user:password@host:5432/dbname"
)

# MySQL client error codes (PyMySQL 1.2 passes the server's and client's codes through as args[0]).
MYSQL_CONNECTION_HINTS = {
    1044: "grant the user privileges on that database",
    1045: "check the user name and password in DATABASE_URL (percent-encode special characters)",
    1049: "create the database (CREATE DATABASE `{database}` CHARACTER SET utf8mb4) or fix its name in DATABASE_URL",
    2003: "check that MariaDB/MySQL is running and listening on the host and port in DATABASE_URL",
    2005: "check the host name in DATABASE_URL",
}
# psycopg2 2.9 raises OperationalError with libpq's message and no SQLSTATE, so match the text.
POSTGRES_CONNECTION_HINTS = (
    ("password authentication failed", "check the user name and password in DATABASE_URL"),
    ('role "', "create the role (CREATE ROLE {user} LOGIN) or fix the user name in DATABASE_URL"),
    ('database "', "create the database (createdb {database}) or fix its name in DATABASE_URL"),
    ("connection refused", "check that PostgreSQL is running and listening on the host and port in DATABASE_URL"),
    ("could not translate host name", "check the host name in DATABASE_URL"),
)
SQLITE_CONNECTION_HINT = "check that the file's directory exists and this user may write to it"
DEFAULT_CONNECTION_HINT = "check that the server is running, the database exists and the credentials are right"


class ReconnectingMySQLDatabase(ReconnectMixin, peewee.MySQLDatabase):
    """MySQLDatabase that reopens a connection the server dropped and retries the statement.

    The server drops idle connections after `wait_timeout` (8 hours by default),
    on KILL CONNECTION and on restart. peewee 4.5.3's ReconnectMixin retries
    once on lost-connection errors (2006, 2013, 2014, 4031, and PyMySQL's
    InterfaceError(0, '')) and never inside a transaction, because the writes
    made before the drop would be lost silently.
    """

    def _reconnect(self, func, *args, **kwargs):
        connection_before = self._state.conn
        contexts = list(self._state.ctx)
        result = super()._reconnect(func, *args, **kwargs)
        if connection_before is not None and self._state.conn is not connection_before:
            # peewee 4.5.3's connect() empties the connection_context() stack, so the enclosing
            # block's exit would pop from an empty list. A reconnect happens outside any
            # transaction, so the stack holds only connection contexts and can be put back.
            self._state.ctx = contexts
            logger.warning("MySQL connection to %r was lost; reconnected and retried the statement", self.database)
        return result


def redact_database_url(url: str) -> str:
    """Return `url` with its password replaced by `***`, for messages and logs."""
    parts = urlsplit(url)
    if not parts.password:
        return url
    userinfo, _, hostinfo = parts.netloc.rpartition("@")
    user = userinfo.split(":", 1)[0]
    return urlunsplit(parts._replace(netloc=f"{user}:***@{hostinfo}"))


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


# Folders under here are created on demand (the default database and the demo's live in it).
VAR_DIRECTORY = Path(__file__).resolve().parent.parent / "var"


def _create_parent_directory(url: str, path: Path) -> None:
    """Create a missing `var/` folder; any other missing folder is most likely a typo in the URL."""
    creatable = path.parent.name == "var" or VAR_DIRECTORY in path.resolve().parents
    if not path.parent.exists() and not creatable:
        raise DatabaseUnavailableError(
            f"DATABASE_URL {url!r} points into {str(path.parent)!r}, which does not exist; "
            "fix the path or create the folder first"
        )
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise DatabaseUnavailableError(
            f"DATABASE_URL {url!r} needs the directory {str(path.parent)!r}, which cannot be created "
            f"({error.strerror}); {SQLITE_CONNECTION_HINT}"
        ) from None


def make_database(url: str) -> peewee.Database:
    """Build (without connecting) the peewee database for `url`."""
    scheme = urlsplit(url).scheme
    if scheme not in SUPPORTED_SCHEMES:
        raise DatabaseUnavailableError(
            f"DATABASE_URL {redact_database_url(url)!r} has the unsupported scheme {scheme!r}; "
            f"expected one of {', '.join(s + '://' for s in SUPPORTED_SCHEMES)}, for example {URL_FORMS}"
        )
    _check_driver(scheme, url)
    params = db_url.parse(url, unquote_password=True, unquote_user=True)
    name = params.pop("database")
    if scheme == "sqlite":
        if name != ":memory:":
            _create_parent_directory(url, Path(name))
        return peewee.SqliteDatabase(name, pragmas=SQLITE_PRAGMAS, timeout=SQLITE_BUSY_TIMEOUT_SECONDS, **params)
    if not name:
        raise DatabaseUnavailableError(
            f"DATABASE_URL {redact_database_url(url)!r} has no database name; "
            f"expected {scheme}://user:password@host/dbname"
        )
    if scheme == "mysql":
        # playhouse.db_url names the password `passwd`, which PyMySQL 1.2 deprecates in favour of `password`.
        if "passwd" in params:
            params["password"] = params.pop("passwd")
        # utf8mb4 so usernames and emails with any character round-trip.
        return ReconnectingMySQLDatabase(name, field_types=MYSQL_FIELD_TYPES, **{"charset": "utf8mb4", **params})
    return peewee.PostgresqlDatabase(name, **params)


def init_database(url: str) -> peewee.Database:
    """Bind every model to the database at `url`; no connection is opened here."""
    try:
        database = make_database(url)
    except ValueError as error:
        # urllib raises ValueError for a port that is not a number.
        raise DatabaseUnavailableError(f"DATABASE_URL {redact_database_url(url)!r} is invalid: {error}") from None
    if database_proxy.obj is not None and not database_proxy.obj.is_closed():
        database_proxy.obj.close()
    database_proxy.initialize(database)
    return database


def connection_hint(database: peewee.Database, error: Exception) -> str:
    """Return what an operator should check for a failed connection, from the driver's error."""
    hint = DEFAULT_CONNECTION_HINT
    if isinstance(database, peewee.MySQLDatabase):
        code = error.args[0] if error.args else None
        hint = MYSQL_CONNECTION_HINTS.get(code, DEFAULT_CONNECTION_HINT)
    elif isinstance(database, peewee.PostgresqlDatabase):
        text = str(error).lower()
        for fragment, postgres_hint in POSTGRES_CONNECTION_HINTS:
            if fragment in text:
                hint = postgres_hint
                break
    elif isinstance(database, peewee.SqliteDatabase):
        hint = SQLITE_CONNECTION_HINT
    return hint.format(database=database.database, user=database.connect_params.get("user", ""))


def describe_driver_error(error: Exception) -> str:
    """Return the driver's message on one line (libpq's spans several)."""
    if len(error.args) >= 2 and isinstance(error.args[0], int):
        return f"{error.args[1]} (error {error.args[0]})"
    return " ".join(str(error).split())


def check_connection(url: str) -> None:
    """Bind the models to `url`, then open and close one connection to check it works.

    Raise DatabaseUnavailableError naming the URL (password hidden) and what to
    fix. A connection this thread already has open is left open.
    """
    database = ensure_database(url)
    try:
        opened = database.connect(reuse_if_open=True)
    except (peewee.DatabaseError, peewee.InterfaceError) as error:
        raise DatabaseUnavailableError(
            f"Cannot connect to DATABASE_URL {redact_database_url(url)!r}: {describe_driver_error(error)}; "
            f"{connection_hint(database, error)}"
        ) from None
    if opened:
        database.close()


def is_mysql() -> bool:
    return isinstance(database_proxy.obj, peewee.MySQLDatabase)


def backend_name(database: peewee.Database | None = None) -> str:
    """Return "sqlite", "mysql" or "postgres" for the bound (or given) database."""
    database = database or database_proxy.obj
    if isinstance(database, peewee.MySQLDatabase):
        return "mysql"
    if isinstance(database, peewee.PostgresqlDatabase):
        return "postgres"
    if isinstance(database, peewee.SqliteDatabase):
        return "sqlite"
    raise DatabaseUnavailableError(f"Expected a SQLite, MySQL or PostgreSQL database, got {database!r}")


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
