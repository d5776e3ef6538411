"""peewee models, one module per table, bound to a deferred database."""

from models.audit_log import AuditLog
from models.database import database_proxy, init_database
from models.panel import Panel
from models.reseller import Reseller
from models.reseller_config import ResellerConfig
from models.setting import Setting
from models.sync_run import SyncRun

ALL_MODELS = (Setting, Panel, Reseller, ResellerConfig, SyncRun, AuditLog)


def create_tables() -> None:
    """Create missing tables and indexes; safe to rerun."""
    with database_proxy.atomic():
        database_proxy.create_tables(ALL_MODELS, safe=True)


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
