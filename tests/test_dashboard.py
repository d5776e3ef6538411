"""The web process: rq-dashboard behind basic auth, started for real on 127.0.0.1.

Every server here binds 127.0.0.1 (DASHBOARD_LOCAL_ONLY=true). The tests of
a refused start replace Flask.run in the child, so even a regression that
lets the dashboard start cannot bind 0.0.0.0.
"""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

import httpx
import pytest
from rq import Queue

from models import SyncRun, database_proxy
from scheduler import enqueue_gate
from tests.conftest import PROJECT_ROOT
from tests.factories import make_reseller
from tests.servers import free_port, start_process, stop_process, wait_for_http
from tests.workers import run_burst_worker
from worker.dashboard import (
    LOCAL_HOST,
    PUBLIC_HOST,
    DashboardSettings,
    credentials_match,
    load_dashboard_settings,
)
from worker.errors import ConfigurationError
from worker.settings_store import INTERVAL_KEY, OVERRIDE_HASH_KEY

USERNAME = "operator"
PASSWORD = "correct horse battery staple"
DASHBOARD_VARIABLES = ("RQ_DASHBOARD_USERNAME", "RQ_DASHBOARD_PASSWORD", "DASHBOARD_LOCAL_ONLY", "PORT")

# Runs the dashboard's entry point with Flask.run replaced, so a start that
# should have been refused exits with 99 instead of serving.
GUARDED_DASHBOARD = """
import sys
import flask

def fail_instead_of_serving(*args, **kwargs):
    print("the dashboard tried to serve", flush=True)
    sys.exit(99)

flask.Flask.run = fail_instead_of_serving
from worker.dashboard import main
main()
"""


@pytest.fixture
def dashboard_env(subprocess_env) -> dict:
    env = {key: value for key, value in subprocess_env.items() if key not in DASHBOARD_VARIABLES}
    env.update(PORT=str(free_port()), DASHBOARD_LOCAL_ONLY="true",
               RQ_DASHBOARD_USERNAME=USERNAME, RQ_DASHBOARD_PASSWORD=PASSWORD)
    return env


@pytest.fixture
def dashboard(dashboard_env, real_redis, tmp_path):
    """A running `python -m worker.dashboard`; yields its base URL."""
    log_path = tmp_path / "dashboard.log"
    process = start_process([sys.executable, "-m", "worker.dashboard"], dashboard_env, log_path)
    base_url = f"http://{LOCAL_HOST}:{dashboard_env['PORT']}"
    try:
        wait_for_http(base_url + "/", process, log_path)
        yield base_url
    finally:
        stop_process(process)


def run_guarded(env: dict) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", GUARDED_DASHBOARD], cwd=PROJECT_ROOT, env=env,
                          capture_output=True, text=True, timeout=60)


def test_dashboard_without_credentials_is_401(dashboard):
    response = httpx.get(dashboard + "/", timeout=5)

    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Basic ")


def test_dashboard_with_credentials_is_200(dashboard):
    response = httpx.get(dashboard + "/", auth=(USERNAME, PASSWORD), timeout=5)

    assert response.status_code == 200
    assert "<title>RQ dashboard</title>" in response.text


def test_dashboard_wrong_password_is_401(dashboard):
    response = httpx.get(dashboard + "/", auth=(USERNAME, PASSWORD + "x"), timeout=5)

    assert response.status_code == 401


def test_dashboard_static_files_need_auth(dashboard):
    # rq-dashboard's own check sits on its blueprint; this one covers the whole app.
    response = httpx.get(dashboard + "/static/js/jquery.min.js", timeout=5)

    assert response.status_code == 401


def test_dashboard_refuses_start_without_credentials(dashboard_env):
    env = {**dashboard_env, "RQ_DASHBOARD_USERNAME": "", "RQ_DASHBOARD_PASSWORD": "", "DASHBOARD_LOCAL_ONLY": "false"}

    result = run_guarded(env)

    assert result.returncode == 1, result.stdout + result.stderr
    assert "RQ_DASHBOARD_USERNAME and RQ_DASHBOARD_PASSWORD" in result.stderr
    assert "DASHBOARD_LOCAL_ONLY=true" in result.stderr
    assert "tried to serve" not in result.stdout


def test_dashboard_refuses_start_with_only_username(dashboard_env):
    env = {**dashboard_env, "RQ_DASHBOARD_PASSWORD": "", "DASHBOARD_LOCAL_ONLY": "false"}

    result = run_guarded(env)

    assert result.returncode == 1, result.stdout + result.stderr
    assert "RQ_DASHBOARD_PASSWORD is empty or unset" in result.stderr


def test_dashboard_local_only_serves_without_credentials(dashboard_env, real_redis, tmp_path):
    env = {**dashboard_env, "RQ_DASHBOARD_USERNAME": "", "RQ_DASHBOARD_PASSWORD": ""}
    log_path = tmp_path / "dashboard.log"
    process = start_process([sys.executable, "-m", "worker.dashboard"], env, log_path)
    try:
        response = wait_for_http(f"http://{LOCAL_HOST}:{env['PORT']}/", process, log_path)
    finally:
        stop_process(process)

    assert response.status_code == 200
    assert "serving the dashboard without authentication on 127.0.0.1 only" in log_path.read_text()


def test_settings_bind_all_interfaces_with_credentials():
    settings = load_dashboard_settings({"RQ_DASHBOARD_USERNAME": "a", "RQ_DASHBOARD_PASSWORD": "b", "PORT": "8080"})

    assert settings.host == PUBLIC_HOST
    assert settings.port == 8080
    assert settings.requires_auth


def test_settings_local_only_binds_loopback():
    settings = load_dashboard_settings({"DASHBOARD_LOCAL_ONLY": "true"})

    assert settings.host == LOCAL_HOST
    assert settings.port == 9181
    assert not settings.requires_auth


def test_settings_reject_invalid_port():
    with pytest.raises(ConfigurationError, match="PORT must be a TCP port number from 1 to 65535, got '80a'"):
        load_dashboard_settings({"DASHBOARD_LOCAL_ONLY": "true", "PORT": "80a"})


def test_settings_repr_hides_password():
    settings = DashboardSettings(host=LOCAL_HOST, port=1, local_only=True, username="a", password="hunter2")

    assert "hunter2" not in repr(settings)


@pytest.mark.parametrize(("given_username", "given_password", "expected"), [
    (USERNAME, PASSWORD, True),
    (USERNAME, "", False),
    ("", PASSWORD, False),
    (USERNAME.upper(), PASSWORD, False),
    (USERNAME, PASSWORD[:-1], False),
    ("opérateur", PASSWORD, False),
])
def test_credentials_match_cases(given_username, given_password, expected):
    assert credentials_match(given_username, given_password, USERNAME, PASSWORD) is expected


def fetch_job(base_url: str, job_id: str) -> dict:
    response = httpx.get(f"{base_url}/0/data/job/{job_id}.json", auth=(USERNAME, PASSWORD), timeout=5)
    assert response.status_code == 200, response.text
    return response.json()


def test_dashboard_shows_tick_progress_and_result(db, real_redis, subprocess_env, dashboard):
    make_reseller(name="first")
    make_reseller(name="second")
    database_proxy.close()
    real_redis.hset(OVERRIDE_HASH_KEY, INTERVAL_KEY, "1")
    tick = datetime.now(timezone.utc)
    gate_job = enqueue_gate(Queue("default", connection=real_redis), tick, 90)

    worker = run_burst_worker(subprocess_env)

    assert worker.returncode == 0, worker.stderr[-4000:]
    with database_proxy.connection_context():
        sync_job_id = SyncRun.get().job_id
    gate = fetch_job(dashboard, gate_job.id)
    sync = fetch_job(dashboard, sync_job_id)
    label = tick.replace(second=0, microsecond=0).strftime("%Y-%m-%dT%H:%M:00Z")
    assert gate["description"] == f"Usage sync gate for tick {gate_job.args[0]}"
    assert gate["result"]["outcome"] == "dispatched"
    assert sync["description"] == "SyncResellerUsageJob"
    assert json.loads(sync["metadata"])["tick"] == label
    assert json.loads(sync["metadata"])["progress"] == {"resellers_done": 2, "resellers_total": 2}
    assert sync["result"]["resellers"] == 2
    assert sync["status"] == "finished"


def test_procfile_web_reads_env_file(dashboard_env, real_redis, tmp_path):
    # honcho, as `make run` uses it, passes .env to the web process.
    env_file = tmp_path / "dotenv"
    port = dashboard_env["PORT"]
    env_file.write_text(f"PORT={port}\nDASHBOARD_LOCAL_ONLY=true\n"
                        f"RQ_DASHBOARD_USERNAME=from-env-file\nRQ_DASHBOARD_PASSWORD=file-secret\n")
    env = {key: value for key, value in dashboard_env.items() if key not in DASHBOARD_VARIABLES}
    honcho = Path(sys.executable).with_name("honcho")
    log_path = tmp_path / "honcho.log"
    process = start_process([str(honcho), "-f", "Procfile", "-e", str(env_file), "start", "web"], env, log_path)
    try:
        anonymous = wait_for_http(f"http://{LOCAL_HOST}:{port}/", process, log_path)
        signed_in = httpx.get(f"http://{LOCAL_HOST}:{port}/", auth=("from-env-file", "file-secret"), timeout=5)
    finally:
        stop_process(process)

    assert anonymous.status_code == 401
    assert signed_in.status_code == 200

