"""`manage.py db init` and `db check` on each backend."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from click.testing import CliRunner

from manage import cli
from models import ALL_MODELS, database_proxy
from tests.conftest import PROJECT_ROOT
from tests.databases import ALL_BACKENDS

COMPOSITE_INDEX = "reseller_configs_panel_id_panel_username"


def manage(subprocess_env: dict, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "manage.py", *args], cwd=PROJECT_ROOT, env=subprocess_env,
                          capture_output=True, text=True, timeout=60)


def check_report(config) -> tuple[int, dict]:
    """Run `db check --json` in this process and return its exit code and report."""
    result = CliRunner().invoke(cli, ["db", "check", "--json"], catch_exceptions=False)
    return result.exit_code, json.loads(result.stdout)


def drop_index(backend: str, table: str, name: str) -> None:
    statement = f"DROP INDEX {name} ON {table}" if backend == "mysql" else f"DROP INDEX {name}"
    with database_proxy.connection_context():
        database_proxy.execute_sql(statement)


@pytest.mark.backends(*ALL_BACKENDS)
def test_init_creates_schema_and_is_safe_to_rerun(backend, subprocess_env):
    before = manage(subprocess_env, "db", "check", "--json")
    first = manage(subprocess_env, "db", "init")
    second = manage(subprocess_env, "db", "init")
    after = manage(subprocess_env, "db", "check", "--json")

    assert before.returncode == 1, before.stderr
    missing = {problem["table"] for problem in json.loads(before.stdout)["problems"]}
    assert missing == {model._meta.table_name for model in ALL_MODELS}
    assert first.returncode == 0, first.stderr
    assert first.stdout.count("created table") == len(ALL_MODELS)
    assert second.returncode == 0, second.stderr
    assert "created" not in second.stdout
    assert after.returncode == 0, after.stderr
    report = json.loads(after.stdout)
    assert report["ok"] is True
    assert report["backend"] == backend
    assert report["problems"] == []


def test_check_text_output_when_schema_matches(db, subprocess_env):
    database_proxy.close()

    result = manage(subprocess_env, "db", "check")

    assert result.returncode == 0, result.stderr
    assert "schema matches the models" in result.stdout


def test_init_recreates_missing_index(db, backend, config):
    drop_index(backend, "reseller_configs", COMPOSITE_INDEX)

    code, report = check_report(config)
    init = CliRunner().invoke(cli, ["db", "init"], catch_exceptions=False)
    code_after, report_after = check_report(config)

    assert code == 1
    assert report["problems"] == [{"kind": "missing index", "table": "reseller_configs", "name": COMPOSITE_INDEX,
                                   "detail": "unique on panel_id, panel_username"}]
    assert init.exit_code == 0
    assert f"created index {COMPOSITE_INDEX} on reseller_configs" in init.stdout
    assert code_after == 0, report_after


def test_check_reports_missing_column(db, config):
    with database_proxy.connection_context():
        database_proxy.execute_sql("ALTER TABLE audit_logs DROP COLUMN reason")

    code, report = check_report(config)
    init = CliRunner().invoke(cli, ["db", "init"], catch_exceptions=False)

    assert code == 1
    assert report["problems"] == [{"kind": "missing column", "table": "audit_logs", "name": "reason",
                                   "detail": "VARCHAR"}]
    # init never adds columns; it warns about the missing one on stderr.
    assert "missing column: audit_logs.reason" in init.stderr


@pytest.mark.backends("mysql", "postgres")
def test_check_reports_narrow_byte_column(db, backend, config):
    statement = {
        "mysql": "ALTER TABLE resellers MODIFY traffic_used_bytes INT NOT NULL",
        "postgres": "ALTER TABLE resellers ALTER COLUMN traffic_used_bytes TYPE integer",
    }[backend]
    with database_proxy.connection_context():
        database_proxy.execute_sql(statement)

    code, report = check_report(config)

    assert code == 1
    assert [(problem["kind"], problem["name"]) for problem in report["problems"]] == [
        ("wrong type", "traffic_used_bytes")]
    assert report["problems"][0]["detail"].startswith("expected BIGINT, found int")
