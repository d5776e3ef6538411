"""DATABASE_URL: backend selection, and start-up failures that name the URL without its password."""

from __future__ import annotations

import socket
import subprocess
import sys
import uuid

import peewee
import pytest

from models.database import (ReconnectingMySQLDatabase, check_connection, init_database, make_database,
                             redact_database_url)
from tests.conftest import PROJECT_ROOT
from tests.databases import SERVER_URL_VARIABLES, SERVER_URLS, with_database_name
from worker.errors import DatabaseUnavailableError

SECRET = "Sup3r-Secret-pw"


def server_url(backend: str) -> str:
    if not SERVER_URLS[backend]:
        pytest.skip(f"needs {SERVER_URL_VARIABLES[backend]}")
    return SERVER_URLS[backend]


def unused_port() -> int:
    """A local TCP port that nothing listens on (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def with_netloc(url: str, user: str | None = None, password: str | None = None, port: int | None = None) -> str:
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    user = user if user is not None else (parts.username or "")
    userinfo = f"{user}:{password}" if password is not None else user
    host = f"{parts.hostname}:{port or parts.port}"
    return parts._replace(netloc=f"{userinfo}@{host}").geturl()


@pytest.mark.parametrize(("url", "expected_class"), [
    ("sqlite:///var/x.sqlite3", peewee.SqliteDatabase),
    ("mysql://user:pw@db.example:3306/usage", ReconnectingMySQLDatabase),
    ("postgres://user:pw@db.example/usage", peewee.PostgresqlDatabase),
    ("postgresql://user:pw@db.example:5432/usage", peewee.PostgresqlDatabase),
])
def test_scheme_selects_backend(url, expected_class, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)

    database = make_database(url)

    assert type(database) is expected_class
    assert database.database in ("var/x.sqlite3", "usage")


def test_mysql_url_decodes_password_and_uses_utf8mb4():
    database = make_database("mysql://app:p%40ss%3Aword@db.example:3307/usage")

    assert database.connect_params["password"] == "p@ss:word"
    assert database.connect_params["port"] == 3307
    assert database.connect_params["charset"] == "utf8mb4"


@pytest.mark.parametrize(("url", "expected"), [
    ("mysql://app:secret@db:3306/usage", "mysql://app:***@db:3306/usage"),
    ("postgresql://app:p%40ss@db/usage?connect_timeout=5", "postgresql://app:***@db/usage?connect_timeout=5"),
    ("postgresql://app@db/usage", "postgresql://app@db/usage"),
    ("sqlite:////tmp/x.sqlite3", "sqlite:////tmp/x.sqlite3"),
])
def test_redact_hides_only_the_password(url, expected):
    assert redact_database_url(url) == expected


def test_unknown_scheme_lists_supported_forms():
    with pytest.raises(DatabaseUnavailableError) as raised:
        init_database(f"mssql://sa:{SECRET}@db/usage")

    message = str(raised.value)
    assert "'mssql://sa:***@db/usage'" in message
    assert "'mssql'" in message
    assert "mysql://user:password@host:3306/dbname" in message
    assert SECRET not in message


@pytest.mark.parametrize(("scheme", "module", "package"), [
    ("mysql", "pymysql", "PyMySQL"),
    ("postgresql", "psycopg2", "psycopg2-binary"),
])
def test_missing_driver_names_package(scheme, module, package, monkeypatch):
    # A None entry in sys.modules makes `import module` raise ImportError.
    monkeypatch.setitem(sys.modules, module, None)

    with pytest.raises(DatabaseUnavailableError) as raised:
        init_database(f"{scheme}://app:{SECRET}@db/usage")

    message = str(raised.value)
    assert f"pip install {package}" in message
    assert f"'{scheme}://app:***@db/usage'" in message
    assert SECRET not in message


def test_url_without_database_name_is_rejected():
    with pytest.raises(DatabaseUnavailableError, match="has no database name"):
        init_database("mysql://app@db")


def test_non_numeric_port_is_rejected():
    with pytest.raises(DatabaseUnavailableError, match="is invalid"):
        init_database("postgresql://app@db:fivefour/usage")


def test_sqlite_directory_that_cannot_exist(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("")

    with pytest.raises(DatabaseUnavailableError, match="cannot be created"):
        init_database(f"sqlite:///{blocker}/db.sqlite3")


def connection_error(url: str) -> str:
    with pytest.raises(DatabaseUnavailableError) as raised:
        check_connection(url)
    return str(raised.value)


def missing_database_url(backend: str) -> str:
    return with_database_name(server_url(backend), f"usage_sync_missing_{uuid.uuid4().hex[:8]}")


def test_mysql_wrong_password_names_fix():
    message = connection_error(with_netloc(server_url("mysql"), password=SECRET))

    assert "Access denied" in message
    assert "check the user name and password" in message
    assert ":***@" in message
    assert SECRET not in message


@pytest.mark.parametrize("backend", ["mysql", "postgres"])
def test_missing_database_names_fix(backend):
    url = missing_database_url(backend)
    name = url.rsplit("/", 1)[1]

    message = connection_error(url)

    assert name in message
    assert ("CREATE DATABASE" if backend == "mysql" else "createdb") in message


@pytest.mark.parametrize("backend", ["mysql", "postgres"])
def test_refused_port_names_fix(backend):
    message = connection_error(with_netloc(server_url(backend), password=SECRET, port=unused_port()))

    assert "refused" in message.lower() or "can't connect" in message.lower()
    assert "is running and listening" in message
    assert SECRET not in message


def test_postgres_unknown_role_names_fix():
    # NOTE: the local PostgreSQL uses trust authentication, so a wrong password is accepted there;
    # an unknown role is the credential error this server can produce.
    message = connection_error(with_netloc(server_url("postgres"), user="usage_sync_no_such_role", password=SECRET))

    assert 'role "usage_sync_no_such_role" does not exist' in message
    assert "CREATE ROLE" in message
    assert SECRET not in message


def run_entry_point(command: list[str], subprocess_env: dict, database_url: str) -> subprocess.CompletedProcess:
    env = {**subprocess_env, "DATABASE_URL": database_url}
    return subprocess.run([sys.executable, *command], cwd=PROJECT_ROOT, env=env, capture_output=True, text=True,
                          timeout=60)


def test_worker_fails_at_start_on_unknown_scheme(subprocess_env):
    result = run_entry_point(["-m", "worker", "--burst"], subprocess_env, f"oracle://app:{SECRET}@db/usage")

    assert result.returncode == 1
    assert "'oracle://app:***@db/usage'" in result.stderr
    assert SECRET not in result.stderr + result.stdout
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("command", [["-m", "worker", "--burst"], ["manage.py", "db", "check"]])
def test_entry_points_fail_at_start_on_refused_port(command, subprocess_env):
    url = with_netloc(server_url("mysql"), password=SECRET, port=unused_port())

    result = run_entry_point(command, subprocess_env, url)

    assert result.returncode == 1
    assert "Cannot connect to DATABASE_URL" in result.stderr
    assert ":***@" in result.stderr
    assert SECRET not in result.stderr + result.stdout
    assert "Traceback" not in result.stderr
