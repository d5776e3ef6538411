"""Connections: one per job, none inherited across fork, dropped ones reopened, SQLite shared in WAL mode."""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
import time
import traceback
import uuid

import peewee
import pytest
from rq.job import JobStatus

from jobs.sync_reseller_usage import SyncResellerUsageJob, execute
from models import Setting, SyncRun, database_proxy
from models.connections import job_connection
from models.database import SQLITE_BUSY_TIMEOUT_SECONDS
from tests.databases import end_session, execute_admin, session_id_sql
from tests.workers import kill_process_tree, start_worker, wait_for
from worker.unique_lock import UniqueLock

SERVER_BACKENDS = ("mysql", "postgres")


def run_sync_job(real_redis, config) -> dict:
    """Run one attempt of the sync job in this process, as a work horse would."""
    job_id = f"test-{uuid.uuid4().hex}"
    assert UniqueLock(real_redis, config.lock_ttl_seconds).acquire(job_id)
    return execute(job_id, real_redis, config, attempt=1)


def current_session_id(backend: str) -> int:
    return database_proxy.execute_sql(session_id_sql(backend)).fetchone()[0]


def open_sessions(backend: str, database_url: str) -> list[int]:
    """Server sessions connected to the test's database, other than the query's own."""
    name = database_url.rsplit("/", 1)[1]
    if backend == "mysql":
        sql = "SELECT id FROM information_schema.processlist WHERE db = %s AND id <> CONNECTION_ID()"
    else:
        sql = "SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()"
    return [row[0] for row in execute_admin(backend, database_url, sql, (name,))]


def end_session_and_wait(backend: str, database_url: str, session_id: int) -> None:
    end_session(backend, database_url, session_id)
    assert wait_for(lambda: session_id not in open_sessions(backend, database_url), 10), "session did not end"


def test_each_job_opens_and_closes_own_connection(db, real_redis, config, monkeypatch):
    database_proxy.close()
    database = database_proxy.obj
    opened, closed = [], []
    real_connect, real_close = database.connect, database.close
    monkeypatch.setattr(database, "connect", lambda *a, **k: opened.append(1) or real_connect(*a, **k))
    monkeypatch.setattr(database, "close", lambda: closed.append(1) or real_close())

    for run in (1, 2):
        result = run_sync_job(real_redis, config)

        assert "skipped" not in result
        assert len(opened) == run, f"job {run} did not open its own connection"
        assert len(closed) == run, f"job {run} did not close its connection"
        assert database.is_closed()


def _run_job_in_child(write_end: int, backend: str) -> None:
    """The forked child: run a job's database work and report which connection it used."""
    status = 1
    try:
        with job_connection():
            session = current_session_id(backend) if backend in SERVER_BACKENDS else None
            connection_id = id(database_proxy.connection())
            Setting.set_value("fork.child", "wrote")
        os.write(write_end, f"{session} {connection_id}".encode())
        status = 0
    except BaseException:  # noqa: BLE001 - the child must always reach os._exit
        traceback.print_exc()
    finally:
        os._exit(status)


def test_forked_child_never_uses_parent_connection(db, backend):
    database_proxy.connect(reuse_if_open=True)
    parent_session = current_session_id(backend) if backend in SERVER_BACKENDS else None
    parent_connection = database_proxy.connection()
    read_end, write_end = os.pipe()

    pid = os.fork()
    if pid == 0:
        os.close(read_end)
        _run_job_in_child(write_end, backend)
    os.close(write_end)
    _, wait_status = os.waitpid(pid, 0)
    child_session, child_connection_id = os.read(read_end, 200).decode().split()
    os.close(read_end)

    assert os.waitstatus_to_exitcode(wait_status) == 0
    assert int(child_connection_id) != id(parent_connection)
    if backend in SERVER_BACKENDS:
        assert int(child_session) != parent_session
        # The parent's session survived the child's job, including the child closing its own connection.
        assert current_session_id(backend) == parent_session
    assert database_proxy.connection() is parent_connection
    assert Setting.get("fork.child") == "wrote"


@pytest.mark.backends(*SERVER_BACKENDS)
def test_job_reopens_connection_server_ended(db, backend, database_url, real_redis, config, caplog):
    database_proxy.connect(reuse_if_open=True)
    old_session = current_session_id(backend)
    end_session_and_wait(backend, database_url, old_session)

    with caplog.at_level(logging.WARNING):
        result = run_sync_job(real_redis, config)

    assert "skipped" not in result
    assert "connection" in caplog.text and ("was lost" in caplog.text or "no longer works" in caplog.text)
    with database_proxy.connection_context():
        assert [run.status for run in SyncRun.select()] == ["succeeded"]
        assert current_session_id(backend) != old_session


@pytest.mark.backends("mysql")
def test_mysql_job_survives_wait_timeout(db, backend, real_redis, config):
    database_proxy.connect(reuse_if_open=True)
    old_session = current_session_id(backend)
    # The server drops a session idle for longer than wait_timeout seconds; SESSION scope touches no one else.
    database_proxy.execute_sql("SET SESSION wait_timeout = 1")
    time.sleep(2.5)

    result = run_sync_job(real_redis, config)

    assert "skipped" not in result
    with database_proxy.connection_context():
        assert [run.status for run in SyncRun.select()] == ["succeeded"]
        assert current_session_id(backend) != old_session


@pytest.mark.backends("mysql")
def test_mysql_statement_retried_after_kill(db, backend, database_url, caplog):
    database_proxy.connect(reuse_if_open=True)
    end_session_and_wait(backend, database_url, current_session_id(backend))

    with caplog.at_level(logging.WARNING):
        Setting.set_value("after.kill", "ok")

    assert Setting.get("after.kill") == "ok"
    assert "was lost; reconnected" in caplog.text


@pytest.mark.backends("mysql")
def test_mysql_reconnect_inside_job_connection(db, backend, database_url):
    database_proxy.close()

    with job_connection():
        end_session_and_wait(backend, database_url, current_session_id(backend))
        Setting.set_value("mid.job", "ok")

    assert database_proxy.is_closed()
    with database_proxy.connection_context():
        assert Setting.get("mid.job") == "ok"


@pytest.mark.backends("mysql")
def test_mysql_drop_inside_transaction_is_not_hidden(db, backend, database_url):
    database_proxy.connect(reuse_if_open=True)
    session = current_session_id(backend)

    # A silent reconnect here would commit the second write without the first, so the error must surface.
    with pytest.raises((peewee.OperationalError, peewee.InterfaceError)):
        with database_proxy.atomic():
            Setting.set_value("in.transaction", "first")
            end_session_and_wait(backend, database_url, session)
            Setting.set_value("in.transaction", "second")

    database_proxy.close()
    with database_proxy.connection_context():
        assert Setting.get("in.transaction") is None


@pytest.mark.backends(*SERVER_BACKENDS)
def test_worker_holds_no_session_between_jobs(db, backend, database_url, real_redis, config, subprocess_env):
    database_proxy.close()
    worker = start_worker(subprocess_env, "--without-scheduler")
    try:
        for attempt in (1, 2):
            job = SyncResellerUsageJob.dispatch(real_redis, config)
            finished = wait_for(lambda: job.get_status(refresh=True) == JobStatus.FINISHED, 30)
            assert finished, f"job {attempt} did not finish"
            # The horse closed its connection and exited; the idle worker keeps none open.
            no_sessions = wait_for(lambda: open_sessions(backend, database_url) == [], 5)
            assert no_sessions, open_sessions(backend, database_url)
    finally:
        kill_process_tree(worker.pid)
        worker.wait(10)


@pytest.mark.backends("sqlite")
def test_sqlite_uses_wal_and_busy_timeout(db):
    with database_proxy.connection_context():
        journal_mode = database_proxy.execute_sql("PRAGMA journal_mode").fetchone()[0]
        busy_timeout_ms = database_proxy.execute_sql("PRAGMA busy_timeout").fetchone()[0]

    assert journal_mode == "wal"
    assert busy_timeout_ms == SQLITE_BUSY_TIMEOUT_SECONDS * 1000


def sqlite_writer(database_url: str) -> sqlite3.Connection:
    """A second process's connection, holding the write lock in an open transaction."""
    writer = sqlite3.connect(database_url.removeprefix("sqlite:///"), isolation_level=None, check_same_thread=False)
    writer.execute("BEGIN IMMEDIATE")
    writer.execute("UPDATE settings SET value = 'from-writer' WHERE key = 'shared.key'")
    return writer


@pytest.mark.backends("sqlite")
def test_sqlite_reader_not_blocked_by_writer(db, database_url):
    Setting.set_value("shared.key", "committed")
    database_proxy.close()
    writer = sqlite_writer(database_url)
    try:
        started = time.monotonic()
        with database_proxy.connection_context():
            seen_during_write = Setting.get("shared.key")
        read_seconds = time.monotonic() - started
        writer.execute("COMMIT")
    finally:
        writer.close()

    assert seen_during_write == "committed"
    assert read_seconds < 1
    with database_proxy.connection_context():
        assert Setting.get("shared.key") == "from-writer"


@pytest.mark.backends("sqlite")
def test_sqlite_second_writer_waits_for_first(db, database_url):
    Setting.set_value("shared.key", "committed")
    database_proxy.close()
    writer = sqlite_writer(database_url)
    committer = threading.Timer(0.5, writer.execute, ("COMMIT",))
    committer.start()
    try:
        started = time.monotonic()
        with database_proxy.connection_context():
            Setting.set_value("shared.key", "second-writer")
        waited_seconds = time.monotonic() - started
    finally:
        committer.join()
        writer.close()

    # Without the busy timeout the write would fail at once with "database is locked".
    assert waited_seconds >= 0.4
    with database_proxy.connection_context():
        assert Setting.get("shared.key") == "second-writer"
