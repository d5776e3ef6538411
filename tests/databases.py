"""Scratch databases on the MariaDB/MySQL and PostgreSQL servers named by TEST_MYSQL_URL and TEST_POSTGRES_URL.

Each test gets a database `usage_sync_test_<random hex>` that is dropped at
the end. The helpers talk to the servers through the drivers directly, so
they never disturb the connection state of the models' database.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import unquote, urlsplit

SERVER_URL_VARIABLES = {"mysql": "TEST_MYSQL_URL", "postgres": "TEST_POSTGRES_URL"}
SERVER_URLS = {backend: os.environ.get(variable, "").strip() for backend, variable in SERVER_URL_VARIABLES.items()}
ALL_BACKENDS = ("sqlite", "mysql", "postgres")
# SQLite always runs; a server backend runs only when its URL is given.
ENABLED_BACKENDS = tuple(backend for backend in ALL_BACKENDS if backend == "sqlite" or SERVER_URLS[backend])
SCRATCH_PREFIX = "usage_sync_test_"


def with_database_name(url: str, name: str) -> str:
    return urlsplit(url)._replace(path=f"/{name}").geturl()


def _driver_params(url: str) -> dict:
    parts = urlsplit(url)
    params = {"host": parts.hostname or "127.0.0.1", "user": unquote(parts.username or "")}
    if parts.port:
        params["port"] = parts.port
    if parts.password:
        params["password"] = unquote(parts.password)
    return params


@contextmanager
def admin_connection(backend: str, url: str):
    """Open a driver connection in autocommit mode to `url`'s server (and database, if it names one)."""
    params = _driver_params(url)
    database = urlsplit(url).path.lstrip("/") or None
    if backend == "mysql":
        import pymysql

        connection = pymysql.connect(database=database, autocommit=True, **params)
    else:
        import psycopg2

        connection = psycopg2.connect(dbname=database or "postgres", **params)
        connection.autocommit = True
    try:
        yield connection
    finally:
        connection.close()


def execute_admin(backend: str, url: str, sql: str, params: tuple = ()) -> list[tuple]:
    with admin_connection(backend, url) as connection, connection.cursor() as cursor:
        cursor.execute(sql, params or None)
        return list(cursor.fetchall()) if cursor.description else []


def _drop_mysql_database(server_url: str, name: str) -> None:
    import pymysql

    # DROP DATABASE waits for metadata locks, so end the sessions a failed test left in a transaction.
    with admin_connection("mysql", server_url) as connection, connection.cursor() as cursor:
        cursor.execute("SELECT id FROM information_schema.processlist WHERE db = %s AND id <> CONNECTION_ID()",
                       (name,))
        for (session_id,) in cursor.fetchall():
            try:
                cursor.execute(f"KILL CONNECTION {int(session_id)}")
            except pymysql.MySQLError:
                pass  # the session ended in between
        cursor.execute(f"DROP DATABASE IF EXISTS `{name}`")


@contextmanager
def scratch_database(backend: str) -> Iterator[str]:
    """Create an empty database on the backend's test server, yield its URL and drop it afterwards."""
    server_url = SERVER_URLS[backend]
    name = f"{SCRATCH_PREFIX}{uuid.uuid4().hex[:12]}"
    if backend == "mysql":
        execute_admin(backend, server_url, f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4")
    else:
        execute_admin(backend, server_url, f'CREATE DATABASE "{name}"')
    try:
        yield with_database_name(server_url, name)
    finally:
        if backend == "mysql":
            _drop_mysql_database(server_url, name)
        else:
            # WITH (FORCE) ends sessions a test left open; PostgreSQL 13 and later accept it.
            execute_admin(backend, server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def session_id_sql(backend: str) -> str:
    """SQL that returns the server's id for the current session."""
    return {"mysql": "SELECT CONNECTION_ID()", "postgres": "SELECT pg_backend_pid()"}[backend]


def end_session(backend: str, database_url: str, session_id: int) -> None:
    """End one session from another connection, as a server restart or an administrator would."""
    if backend == "mysql":
        execute_admin(backend, database_url, f"KILL CONNECTION {int(session_id)}")
    else:
        execute_admin(backend, database_url, "SELECT pg_terminate_backend(%s)", (session_id,))
