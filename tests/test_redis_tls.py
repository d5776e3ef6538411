"""REDIS_URL=rediss:// against a private TLS redis-server with a self-signed certificate.

The server is this module's own: it listens on 127.0.0.1 only, on a free
TLS port with the plain port disabled, and is stopped when the module ends.
"""

from __future__ import annotations

import logging
import shutil
import subprocess
import sys
import time

import httpx
import pytest
import redis
import redis_sentinel_url

from models import SyncRun, database_proxy
from tests.conftest import PROJECT_ROOT
from tests.factories import make_reseller
from tests.servers import LOOPBACK, free_port, start_process, stop_process, wait_for_http
from tests.workers import run_burst_worker
from worker.config import Config
from worker.redis_connection import connect_redis, describe_redis_error, url_with_tls_options

SERVER_START_SECONDS = 10


def _make_certificate(folder) -> None:
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-keyout", str(folder / "key.pem"), "-out", str(folder / "cert.pem"), "-subj", "/CN=localhost"],
                   check=True, capture_output=True, timeout=60)


def _wait_until_ready(process: subprocess.Popen, port: int, log_path) -> None:
    client = redis.Redis(host=LOOPBACK, port=port, ssl=True, ssl_cert_reqs=None, socket_connect_timeout=1)
    deadline = time.monotonic() + SERVER_START_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            output = log_path.read_text()
            # A redis-server built without TLS rejects --tls-port as a bad directive.
            if "Bad directive" in output and "tls" in output:
                pytest.skip(f"this redis-server was built without TLS support: {output[-300:]}")
            raise AssertionError(f"redis-server exited with {process.returncode}: {output[-2000:]}")
        try:
            client.ping()
            return
        except redis.ConnectionError:
            time.sleep(0.1)
    raise AssertionError(f"the TLS redis-server did not answer within {SERVER_START_SECONDS} s")


@pytest.fixture(scope="module")
def tls_redis_port(tmp_path_factory):
    """Start `redis-server` with TLS only, a self-signed certificate and no client certificates."""
    for tool in ("redis-server", "openssl"):
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} is not installed, so no TLS Redis server can be started")
    folder = tmp_path_factory.mktemp("tls-redis")
    _make_certificate(folder)
    port = free_port()
    log_path = folder / "redis.log"
    command = [shutil.which("redis-server"), "--port", "0", "--tls-port", str(port), "--bind", LOOPBACK,
               "--tls-cert-file", str(folder / "cert.pem"), "--tls-key-file", str(folder / "key.pem"),
               "--tls-ca-cert-file", str(folder / "cert.pem"), "--tls-auth-clients", "no",
               "--save", "", "--appendonly", "no", "--dir", str(folder)]
    process = start_process(command, {}, log_path)
    try:
        _wait_until_ready(process, port, log_path)
        yield port
    finally:
        stop_process(process)


@pytest.fixture
def tls_url(tls_redis_port) -> str:
    return f"rediss://{LOOPBACK}:{tls_redis_port}/0"


def test_tls_verification_fails_without_opt_in(tls_url):
    config = Config(redis_url=tls_url)

    with pytest.raises(redis.ConnectionError) as raised:
        connect_redis(config).ping()

    assert "CERTIFICATE_VERIFY_FAILED" in str(raised.value)
    assert "set REDIS_TLS_INSECURE=true" in describe_redis_error(config, raised.value)


def test_tls_insecure_opt_in_connects(tls_url, caplog):
    config = Config(redis_url=tls_url, redis_tls_insecure=True)

    with caplog.at_level(logging.WARNING):
        connection = connect_redis(config)

    assert connection.ping() is True
    assert "REDIS_TLS_INSECURE is set: the TLS certificate of" in caplog.text


def test_tls_insecure_ignored_for_plain_url(caplog):
    config = Config(redis_url="redis://127.0.0.1:6379/15", redis_tls_insecure=True)

    with caplog.at_level(logging.WARNING):
        url = url_with_tls_options(config)

    assert url == "redis://127.0.0.1:6379/15"
    assert "does not use TLS (rediss://); it has no effect" in caplog.text


def test_dashboard_url_verifies_without_opt_in(tls_url):
    # redis_sentinel_url.connect is how rq-dashboard 0.9.0 builds its client from the URL.
    _, client = redis_sentinel_url.connect(url_with_tls_options(Config(redis_url=tls_url)))

    with pytest.raises(redis.ConnectionError, match="CERTIFICATE_VERIFY_FAILED"):
        client.ping()


def test_dashboard_url_carries_insecure_opt_in(tls_url):
    url = url_with_tls_options(Config(redis_url=tls_url, redis_tls_insecure=True))
    _, client = redis_sentinel_url.connect(url)

    assert "ssl_cert_reqs=none" in url
    assert client.ping() is True


def tls_env(subprocess_env: dict, url: str, insecure: bool) -> dict:
    return {**subprocess_env, "REDIS_URL": url, "REDIS_TLS_INSECURE": "true" if insecure else "false"}


def run_manage(env: dict, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "manage.py", *args], cwd=PROJECT_ROOT, env=env, capture_output=True,
                          text=True, timeout=60)


def test_cli_reports_unverified_certificate(db, subprocess_env, tls_url):
    result = run_manage(tls_env(subprocess_env, tls_url, insecure=False), "lock", "show")

    assert result.returncode == 1
    assert "CERTIFICATE_VERIFY_FAILED" in result.stderr
    assert "set REDIS_TLS_INSECURE=true" in result.stderr
    assert "Traceback" not in result.stderr


def test_cli_works_with_opt_in(db, subprocess_env, tls_url):
    result = run_manage(tls_env(subprocess_env, tls_url, insecure=True), "lock", "show", "--json")

    assert result.returncode == 0, result.stderr
    assert '"holder": null' in result.stdout
    assert "REDIS_TLS_INSECURE is set" in result.stderr


def test_worker_runs_sync_over_tls(db, subprocess_env, tls_url):
    make_reseller()
    database_proxy.close()
    env = tls_env(subprocess_env, tls_url, insecure=True)
    dispatched = run_manage(env, "sync", "dispatch")
    assert dispatched.returncode == 0, dispatched.stderr

    # --with-scheduler: RQ's scheduler opens its own connection from the pool's settings.
    worker = run_burst_worker(env, with_scheduler=True)

    assert worker.returncode == 0, worker.stderr[-4000:]
    with database_proxy.connection_context():
        assert [run.status for run in SyncRun.select()] == ["succeeded"]


def start_tls_dashboard(subprocess_env: dict, url: str, insecure: bool, log_path):
    env = {**tls_env(subprocess_env, url, insecure), "PORT": str(free_port()), "DASHBOARD_LOCAL_ONLY": "true",
           "RQ_DASHBOARD_USERNAME": "", "RQ_DASHBOARD_PASSWORD": ""}
    process = start_process([sys.executable, "-m", "worker.dashboard"], env, log_path)
    return process, f"http://{LOOPBACK}:{env['PORT']}"


def test_dashboard_honours_tls_opt_in(subprocess_env, tls_url, tmp_path):
    log_path = tmp_path / "dashboard.log"
    process, base_url = start_tls_dashboard(subprocess_env, tls_url, True, log_path)
    try:
        wait_for_http(base_url + "/", process, log_path)
        queues = httpx.get(base_url + "/0/data/queues.json", timeout=10)
    finally:
        stop_process(process)

    assert queues.status_code == 200, log_path.read_text()[-3000:]
    assert "queues" in queues.json()
    assert "REDIS_TLS_INSECURE is set" in log_path.read_text()


def test_dashboard_verifies_tls_without_opt_in(subprocess_env, tls_url, tmp_path):
    log_path = tmp_path / "dashboard.log"
    process, base_url = start_tls_dashboard(subprocess_env, tls_url, False, log_path)
    try:
        wait_for_http(base_url + "/", process, log_path)
        queues = httpx.get(base_url + "/0/data/queues.json", timeout=10)
    finally:
        stop_process(process)

    assert queues.status_code == 500
    assert "CERTIFICATE_VERIFY_FAILED" in log_path.read_text()
