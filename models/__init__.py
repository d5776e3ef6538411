"""peewee models, one module per table, bound to a deferred database."""

from models import connections  # noqa: F401  (registers the fork hook that drops inherited connections)
from models.audit_log import AuditLog
from models.database import database_proxy, init_database
from models.panel import Panel
from models.reseller import Reseller
from models.reseller_config import ResellerConfig
from models.schema import create_missing_schema
from models.setting import Setting
from models.sync_run import SyncRun

ALL_MODELS = (Setting, Panel, Reseller, ResellerConfig, SyncRun, AuditLog)


def create_tables() -> list[str]:
    """Create missing tables and indexes; safe to rerun. Return what was created."""
    # MySQL commits DDL implicitly, so a transaction here would only be atomic on SQLite and PostgreSQL.
    with database_proxy.atomic():
        return create_missing_schema(database_proxy.obj, ALL_MODELS)


__all__ = [
    "ALL_MODELS",
    "AuditLog",
    "Panel",
    "Reseller",
    "ResellerConfig",
    "Setting",
    "SyncRun",
    "create_tables",
    "database_proxy",
    "init_database",
]
