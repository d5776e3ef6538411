"""`panels`, `resellers`, `configs`, `sync run` and `demo --once` as an operator runs them."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from click.testing import CliRunner

from cli.sizes import parse_size
from manage import cli
from models import Panel, Reseller, ResellerConfig, database_proxy
from simulator import PanelSpec, Simulator
from tests.conftest import PROJECT_ROOT

GIB = 1024**3


@pytest.fixture
def runner(db, config):
    return CliRunner()


def invoke(runner, *args, input=None):
    result = runner.invoke(cli, list(args), input=input, catch_exceptions=False)
    return result


@pytest.mark.parametrize(("text", "expected"), [
    ("1024", 1024), ("50GiB", 50 * GIB), ("1.5TB", 1_500_000_000_000), ("500 MB", 500_000_000), ("2kib", 2048),
])
def test_parse_size_accepts_units(text, expected):
    assert parse_size(text) == expected


@pytest.mark.parametrize("text", ["", "-5", "12XB", "abc", "1e9", "99999999999PiB"])
def test_parse_size_rejects_bad_input(text):
    with pytest.raises(ValueError, match="size"):
        parse_size(text)


def test_panels_add_prints_id_and_hides_password(runner):
    result = invoke(runner, "panels", "add", "--name", "p1", "--type", "marzban", "--url", "https://panel.example/",
                    "--username", "admin", "--password", "hunter2", "--no-verify-tls")
    listed = invoke(runner, "panels", "list", "--json")

    assert result.exit_code == 0
    assert result.stdout.strip().isdigit()
    rows = json.loads(listed.stdout)
    assert rows[0]["id"] == int(result.stdout)
    assert rows[0]["verify_tls"] is False
    assert "hunter2" not in listed.stdout


def test_panels_add_duplicate_name_fails(runner):
    args = ["panels", "add", "--name", "p1", "--type", "xui", "--url", "http://127.0.0.1:1/base",
            "--username", "a", "--password", "b"]
    invoke(runner, *args)

    result = runner.invoke(cli, args)

    assert result.exit_code != 0
    assert "already exists" in result.output


def test_panels_add_rejects_bad_url(runner):
    result = runner.invoke(cli, ["panels", "add", "--name", "p", "--type", "xui", "--url", "ftp://x",
                                 "--username", "a", "--password", "b"])

    assert result.exit_code == 2
    assert "ftp://x" in result.output


def test_panels_check_reports_version_and_users(runner):
    with Simulator([PanelSpec(name="mz", type="marzban", password="pw")]) as simulator:
        simulator.add_user("mz", "alice")
        simulator.add_user("mz", "bob")
        panel = Panel.create(name="mz", type="marzban", base_url=simulator.url_for("mz").rstrip("/"),
                             username="admin", password="pw")

        result = invoke(runner, "panels", "check", str(panel.id), "--json")

    data = json.loads(result.stdout)
    assert data["user_count"] == 2
    assert data["version"]


def test_panels_check_bad_password_fails_clearly(runner):
    with Simulator([PanelSpec(name="mz", type="marzban", password="pw")]) as simulator:
        panel = Panel.create(name="mz", type="marzban", base_url=simulator.url_for("mz").rstrip("/"),
                             username="admin", password="wrong")

        result = runner.invoke(cli, ["panels", "check", str(panel.id)])

    assert result.exit_code == 1
    assert "check failed" in result.output
    assert "wrong" not in result.output


def test_resellers_add_list_show(runner):
    added = invoke(runner, "resellers", "add", "--name", "Acme", "--type", "traffic", "--quota", "1.5TB",
                   "--window-ends", "2027-01-01T00:00:00Z")
    reseller_id = int(added.stdout)

    shown = json.loads(invoke(runner, "resellers", "show", str(reseller_id), "--json").stdout)
    listed = json.loads(invoke(runner, "resellers", "list", "--json").stdout)

    assert shown["id"] == reseller_id
    assert shown["traffic_total_bytes"] == 1_500_000_000_000
    assert shown["window_ends_at"].startswith("2027-01-01T00:00")
    assert [row["id"] for row in listed] == [reseller_id]


def test_resellers_add_rejects_bad_quota(runner):
    result = runner.invoke(cli, ["resellers", "add", "--name", "x", "--quota", "lots"])

    assert result.exit_code == 2
    assert "'lots'" in result.output
    assert Reseller.select().count() == 0


def test_configs_add_and_import_from_stdin(runner):
    reseller = Reseller.create(name="r", traffic_total_bytes=GIB)
    panel = Panel.create(name="p", type="marzban", base_url="http://127.0.0.1:9", username="a", password="b")
    added = invoke(runner, "configs", "add", "--reseller", str(reseller.id), "--panel", str(panel.id),
                   "--username", "alice", "--limit", "10GiB")

    imported = invoke(runner, "configs", "import", "--reseller", str(reseller.id), "--panel", str(panel.id), "-",
                      input="bob\ncarol\n\nalice\nbob\n")
    listed = json.loads(invoke(runner, "configs", "list", "--reseller", str(reseller.id), "--json").stdout)

    assert added.stdout.strip().isdigit()
    assert "imported 2" in imported.stdout
    assert sorted(row["username"] for row in listed) == ["alice", "bob", "carol"]
    assert ResellerConfig.get(ResellerConfig.panel_username == "alice").limit_bytes == 10 * GIB


def test_configs_add_unknown_reseller_fails(runner):
    panel = Panel.create(name="p", type="marzban", base_url="http://127.0.0.1:9", username="a", password="b")

    result = runner.invoke(cli, ["configs", "add", "--reseller", "999", "--panel", str(panel.id),
                                 "--username", "x"])

    assert result.exit_code == 1
    assert "reseller 999 not found" in result.output


def test_sync_run_exits_zero_when_reads_fail(db, real_redis, subprocess_env):
    reseller = Reseller.create(name="r", traffic_total_bytes=GIB)
    panel = Panel.create(name="down", type="marzban", base_url="http://127.0.0.1:9", username="a", password="b")
    ResellerConfig.create(reseller=reseller, panel=panel, panel_username="alice", usage_bytes=5)
    database_proxy.close()

    result = subprocess.run([sys.executable, "manage.py", "sync", "run", "--json"], cwd=PROJECT_ROOT,
                            env=subprocess_env, capture_output=True, text=True, timeout=60)

    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["panels_failed"] == 1
    assert summary["configs_failed"] == 1
    assert str(panel.id) in summary["failed_panels"]


def test_sync_run_exits_nonzero_when_run_fails(db, real_redis, subprocess_env):
    Reseller.create(name="r", traffic_total_bytes=GIB)
    database_proxy.execute_sql("DROP TABLE reseller_configs")
    database_proxy.close()

    result = subprocess.run([sys.executable, "manage.py", "sync", "run"], cwd=PROJECT_ROOT,
                            env=subprocess_env, capture_output=True, text=True, timeout=60)

    assert result.returncode == 1
    assert "sync run failed" in result.stderr


def test_demo_once_prints_usage_table(real_redis, subprocess_env, tmp_path):
    operator_database = tmp_path / "operator.sqlite3"
    env = {**subprocess_env, "DATABASE_URL": f"sqlite:///{operator_database}"}

    result = subprocess.run([sys.executable, "manage.py", "demo", "--once", "--database-url",
                             f"sqlite:///{tmp_path / 'demo.sqlite3'}"], cwd=PROJECT_ROOT, env=env,
                            capture_output=True, text=True, timeout=120)

    assert result.returncode == 0, result.stderr
    assert "configs_synced=7" in result.stdout
    assert "Acme VPN" in result.stdout
    assert "configs_failed=0" in result.stdout
    assert not operator_database.exists()
