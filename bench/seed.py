"""A fresh benchmark database: panels, resellers and configs written with bulk inserts."""

from __future__ import annotations

from collections.abc import Iterator

from bench.simulated_panels import PANEL_PASSWORD, BenchPanel
from models import Panel, Reseller, ResellerConfig, create_tables, database_proxy
from models.database import ensure_database
from models.fields import utc_now

# Quotas far above what the run can use, so the sync plans no remote operation
# and the figures measure reading and writing usage.
RESELLER_QUOTA_BYTES = 1 << 60
INSERT_BATCH_ROWS = 20_000
CONFIG_INSERT_COLUMNS = ("reseller_id", "panel_id", "panel_username", "status", "disabled_by_suspension",
                         "usage_bytes", "settled_usage_bytes", "remote_attempts", "created_at")


def _insert_statement(table: str, columns: tuple[str, ...]) -> str:
    database = database_proxy.obj
    open_quote, close_quote = database.quote[0], database.quote[1]
    names = ", ".join(f"{open_quote}{column}{close_quote}" for column in columns)
    params = ", ".join(database.param for _ in columns)
    return f"INSERT INTO {open_quote}{table}{close_quote} ({names}) VALUES ({params})"


def _config_rows(panels: list[BenchPanel], panel_ids: list[int], reseller_ids: list[int],
                 config_count: int) -> Iterator[tuple]:
    """Config i is user i // P of panel i % P and belongs to reseller i * R // N."""
    created = ResellerConfig.created_at.db_value(utc_now())
    panel_count, reseller_count = len(panels), len(reseller_ids)
    for index in range(config_count):
        panel_number = index % panel_count
        username = panels[panel_number].username(index // panel_count)
        reseller_id = reseller_ids[index * reseller_count // config_count]
        yield (reseller_id, panel_ids[panel_number], username, "active", False, 0, 0, 0, created)


def _require_empty() -> None:
    if ResellerConfig.table_exists() and ResellerConfig.select().limit(1).exists():
        raise SystemExit(f"the benchmark database {database_proxy.obj.database!r} already has configs; "
                         "give --database-url an empty database")


def seed_database(url: str, panels: list[BenchPanel], urls: dict[str, str], reseller_count: int,
                  config_count: int) -> None:
    """Create the tables in the empty database at `url` and insert the run's rows."""
    ensure_database(url)
    with database_proxy.connection_context():
        _require_empty()
        create_tables()
        with database_proxy.atomic():
            panel_ids = [Panel.insert(name=panel.name, type=panel.type, base_url=urls[panel.name],
                                      username="admin", password=PANEL_PASSWORD).execute()
                         for panel in panels]
            Reseller.insert_many(
                [{"name": f"reseller-{number}", "traffic_total_bytes": RESELLER_QUOTA_BYTES}
                 for number in range(reseller_count)]
            ).execute()
        reseller_ids = [row.id for row in Reseller.select(Reseller.id).order_by(Reseller.id)]
        _insert_configs(panels, panel_ids, reseller_ids, config_count)


def _insert_configs(panels: list[BenchPanel], panel_ids: list[int], reseller_ids: list[int],
                    config_count: int) -> None:
    statement = _insert_statement(ResellerConfig._meta.table_name, CONFIG_INSERT_COLUMNS)
    batch: list[tuple] = []
    with database_proxy.atomic():
        cursor = database_proxy.cursor()
        for row in _config_rows(panels, panel_ids, reseller_ids, config_count):
            batch.append(row)
            if len(batch) == INSERT_BATCH_ROWS:
                cursor.executemany(statement, batch)
                batch.clear()
        if batch:
            cursor.executemany(statement, batch)
