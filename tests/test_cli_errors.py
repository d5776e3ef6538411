"""Operator mistakes get one clear line and a non-zero exit, never a traceback or a partial write."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from click.testing import CliRunner

from manage import cli
from models import Panel, Reseller, ResellerConfig, Setting
from tests.conftest import PROJECT_ROOT

GIB = 1024**3


@pytest.fixture
def runner(db, config):
    return CliRunner()


def run_manage(env: dict, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "manage.py", *args], cwd=PROJECT_ROOT, env=env, capture_output=True,
                          text=True, timeout=60)


@pytest.mark.parametrize("module_args", [["manage.py", "lock", "show"], ["-m", "worker", "--burst"],
                                         ["scheduler.py", "--burst"]])
def test_bad_redis_url_is_one_line(subprocess_env, module_args):
    env = {**subprocess_env, "REDIS_URL": "http://example.invalid"}

    result = subprocess.run([sys.executable, *module_args], cwd=PROJECT_ROOT, env=env, capture_output=True,
                            text=True, timeout=60)

    assert result.returncode == 1
    assert "REDIS_URL must start with" in result.stderr
    assert "Traceback" not in result.stderr


def test_missing_schema_suggests_db_init(subprocess_env, tmp_path):
    env = {**subprocess_env, "DATABASE_URL": f"sqlite:///{tmp_path / 'empty.sqlite3'}"}

    result = run_manage(env, "resellers", "list")

    assert result.returncode == 1
    assert "db init" in result.stderr
    assert "Traceback" not in result.stderr


def test_sqlite_path_typo_is_rejected(subprocess_env, tmp_path):
    missing = tmp_path / "no-such-folder" / "x.sqlite3"
    env = {**subprocess_env, "DATABASE_URL": f"sqlite:///{missing}"}

    result = run_manage(env, "db", "init")

    assert result.returncode == 1
    assert "does not exist" in result.stderr
    assert not missing.parent.exists()


def test_settings_set_rejects_unknown_key(runner):
    result = runner.invoke(cli, ["settings", "set", "reseller.usage_sync_interval_minute", "2"])

    assert result.exit_code == 2
    assert "unknown setting" in result.output
    assert Setting.select().count() == 0


def test_settings_set_force_stores_unknown_key(runner):
    result = runner.invoke(cli, ["settings", "set", "custom.key", "x", "--force"])

    assert result.exit_code == 0
    assert Setting.get("custom.key") == "x"


def test_settings_get_shows_effective_interval(runner):
    runner.invoke(cli, ["settings", "set", "reseller.usage_sync_interval_minutes", "-3"])

    result = runner.invoke(cli, ["settings", "get", "reseller.usage_sync_interval_minutes"])

    assert "= 1 (database, stored value '-3')" in result.output


def test_configs_add_rejects_blank_username(runner):
    reseller = Reseller.create(name="r", traffic_total_bytes=GIB)
    panel = Panel.create(name="p", type="marzban", base_url="http://127.0.0.1:9", username="a", password="b")

    result = runner.invoke(cli, ["configs", "add", "--reseller", str(reseller.id), "--panel", str(panel.id),
                                 "--username", "   "])

    assert result.exit_code == 2
    assert ResellerConfig.select().count() == 0


def test_configs_import_rejects_long_name_whole_file(runner, tmp_path):
    reseller = Reseller.create(name="r", traffic_total_bytes=GIB)
    panel = Panel.create(name="p", type="marzban", base_url="http://127.0.0.1:9", username="a", password="b")
    source = tmp_path / "names.txt"
    source.write_text("alice\n" + "x" * 5000 + "\n")

    result = runner.invoke(cli, ["configs", "import", "--reseller", str(reseller.id), "--panel", str(panel.id),
                                 str(source)])

    assert result.exit_code == 1
    assert "longer than 191" in result.output
    assert ResellerConfig.select().count() == 0


def test_configs_import_rejects_non_utf8(runner, tmp_path):
    reseller = Reseller.create(name="r", traffic_total_bytes=GIB)
    panel = Panel.create(name="p", type="marzban", base_url="http://127.0.0.1:9", username="a", password="b")
    source = tmp_path / "names.txt"
    source.write_bytes(b"alice\n\xff\xfebob\n")

    result = runner.invoke(cli, ["configs", "import", "--reseller", str(reseller.id), "--panel", str(panel.id),
                                 str(source)])

    assert result.exit_code == 1
    assert "not UTF-8" in result.output
    assert ResellerConfig.select().count() == 0


def test_panels_add_rejects_url_without_host(runner):
    result = runner.invoke(cli, ["panels", "add", "--name", "p", "--type", "marzban", "--url", "http://",
                                 "--username", "a", "--password", "b"])

    assert result.exit_code == 2
    assert Panel.select().count() == 0


def test_panels_add_reads_password_from_environment(runner):
    result = runner.invoke(cli, ["panels", "add", "--name", "p", "--type", "marzban", "--url", "http://127.0.0.1:9",
                                 "--username", "a"], env={"PANEL_PASSWORD": "from-env"})

    assert result.exit_code == 0
    assert Panel.get().password == "from-env"


def test_resellers_add_rejects_inverted_window(runner):
    result = runner.invoke(cli, ["resellers", "add", "--name", "r", "--quota", "1GiB",
                                 "--window-starts", "2030-01-01T00:00:00Z", "--window-ends", "2020-01-01T00:00:00Z"])

    assert result.exit_code == 2
    assert Reseller.select().count() == 0


def test_resellers_update_changes_quota_and_window(runner):
    reseller = Reseller.create(name="r", traffic_total_bytes=GIB, status="suspended",
                               suspension_reason="reseller_quota_exhausted")

    result = runner.invoke(cli, ["resellers", "update", str(reseller.id), "--quota", "5GiB", "--forgive", "1GiB",
                                 "--window-ends", "2031-01-01T00:00:00Z"])
    shown = json.loads(runner.invoke(cli, ["resellers", "show", str(reseller.id), "--json"]).stdout)

    assert result.exit_code == 0
    assert shown["traffic_total_bytes"] == 5 * GIB
    assert shown["admin_forgiven_bytes"] == GIB
    assert shown["window_ends_at"].startswith("2031-01-01")


def test_resellers_update_unknown_id_fails(runner):
    result = runner.invoke(cli, ["resellers", "update", "999", "--quota", "1GiB"])

    assert result.exit_code == 1
    assert "reseller 999 not found" in result.output
