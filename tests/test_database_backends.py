"""Model behaviour that differs between SQLite, MariaDB/MySQL and PostgreSQL, run on each backend."""

from __future__ import annotations

import logging
import re
from datetime import datetime

import peewee
import pytest

from models import Reseller, ResellerConfig, Setting, SyncRun, database_proxy
from tests.conftest import PROJECT_ROOT
from tests.factories import make_config, make_panel, make_reseller
from worker.settings_store import INTERVAL_KEY, SettingsStore

README = PROJECT_ROOT / "README.md"
# Which README block belongs to which backend: the first line of each ```sql block names it.
README_SQL_LABELS = {"sqlite": "-- SQLite", "mysql": "-- MariaDB / MySQL", "postgres": "-- PostgreSQL"}
# The interval the README's statements set.
README_INTERVAL = 2

ABOVE_INT32 = 2**31 + 7
NEAR_INT62 = 2**62 + 12_345


def byte_fields(model: type[peewee.Model]) -> list[peewee.Field]:
    return [field for field in model._meta.sorted_fields if field.name.endswith("_bytes")]


def readme_upsert_sql(backend: str) -> str:
    """The operator's upsert for `backend`, exactly as the README shows it."""
    blocks = re.findall(r"```sql\n(.*?)```", README.read_text(), flags=re.DOTALL)
    matching = [block for block in blocks if block.startswith(README_SQL_LABELS[backend])]
    assert len(matching) == 1, f"expected one README sql block starting {README_SQL_LABELS[backend]!r}"
    return matching[0].strip()


def test_byte_fields_are_bigint():
    fields = byte_fields(Reseller) + byte_fields(ResellerConfig)

    assert len(fields) >= 7
    for field in fields:
        assert isinstance(field, peewee.BigIntegerField), f"{field.model.__name__}.{field.name}"


@pytest.mark.parametrize("value", [ABOVE_INT32, NEAR_INT62], ids=["above-2**31", "near-2**62"])
def test_byte_counters_round_trip(db, value):
    reseller_counters = {field.name: value for field in byte_fields(Reseller)}
    config_counters = {field.name: value for field in byte_fields(ResellerConfig)}
    reseller = Reseller.create(name="big", **reseller_counters)
    config = make_config(reseller, make_panel(), "user-a", **config_counters)

    stored_reseller = Reseller.get_by_id(reseller.id)
    stored_config = ResellerConfig.get_by_id(config.id)

    for field in byte_fields(Reseller):
        assert getattr(stored_reseller, field.name) == value, f"resellers.{field.column_name}"
    for field in byte_fields(ResellerConfig):
        assert getattr(stored_config, field.name) == value, f"reseller_configs.{field.column_name}"


def test_byte_counter_filters_and_sums_above_int32(db):
    reseller = make_reseller()
    panel = make_panel()
    make_config(reseller, panel, "user-a", usage_bytes=3 * 2**31, settled_usage_bytes=2**33)
    make_config(reseller, panel, "user-b", usage_bytes=2**32)

    total = ResellerConfig.select(peewee.fn.SUM(ResellerConfig.usage_bytes + ResellerConfig.settled_usage_bytes)) \
        .where(ResellerConfig.reseller == reseller.id).scalar()
    matches = ResellerConfig.select().where(ResellerConfig.usage_bytes == 3 * 2**31).count()

    # MySQL returns SUM as DECIMAL and PostgreSQL as NUMERIC, so compare as int.
    assert int(total) == 3 * 2**31 + 2**33 + 2**32
    assert matches == 1


def test_timestamps_keep_microseconds(db):
    started = datetime(2026, 3, 1, 10, 5, 7, 500_001)
    run = SyncRun.create(job_id="job-1", started_at=started)

    assert SyncRun.get_by_id(run.id).started_at == started


def test_set_value_is_one_upsert_statement(db, backend, caplog):
    Setting.set_value("some.key", "a")

    with caplog.at_level(logging.DEBUG, logger="peewee"):
        Setting.set_value("some.key", "b")

    statements = [record.getMessage() for record in caplog.records if record.name == "peewee"]
    assert len(statements) == 1, statements
    expected = "ON DUPLICATE KEY UPDATE" if backend == "mysql" else "ON CONFLICT"
    assert expected in statements[0]
    assert Setting.get("some.key") == "b"
    assert Setting.select().count() == 1


def test_readme_upsert_updates_existing_row(db, backend, real_redis):
    Setting.set_value(INTERVAL_KEY, "5")

    database_proxy.execute_sql(readme_upsert_sql(backend))

    assert SettingsStore(real_redis).interval_minutes()[0] == README_INTERVAL
    assert Setting.select().where(Setting.key == INTERVAL_KEY).count() == 1


def test_readme_upsert_inserts_missing_row(db, backend, real_redis):
    database_proxy.execute_sql(readme_upsert_sql(backend))

    interval, setting = SettingsStore(real_redis).interval_minutes()
    assert interval == README_INTERVAL
    assert setting.source == "database"
    assert Setting.get_or_none(Setting.key == INTERVAL_KEY).updated_at is not None


@pytest.mark.backends("mysql")
def test_mysql_key_without_backticks_fails(db):
    unquoted = readme_upsert_sql("mysql").replace("`key`", "key")

    # KEY is a reserved word in MariaDB 10.11 and MySQL 8, so the unquoted column is a syntax error.
    with pytest.raises(peewee.ProgrammingError):
        database_proxy.execute_sql(unquoted)


@pytest.mark.backends("mysql")
def test_mysql_upsert_needs_unique_index_on_key(db):
    database_proxy.execute_sql("DROP INDEX settings_key ON settings")

    database_proxy.execute_sql(readme_upsert_sql("mysql"))
    database_proxy.execute_sql(readme_upsert_sql("mysql"))

    # Without the unique index ON DUPLICATE KEY UPDATE finds no duplicate, so each run inserts a row.
    assert Setting.select().where(Setting.key == INTERVAL_KEY).count() == 2
