"""Configuration read once from the environment (and `.env`), with named defaults."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

from dotenv import load_dotenv

from worker.errors import ConfigurationError

PROJECT_ROOT = Path(__file__).resolve().parent.parent

DEFAULT_REDIS_URL = "redis://localhost:6379/0"
DEFAULT_DATABASE_URL = f"sqlite:///{PROJECT_ROOT / 'var' / 'usage-sync.sqlite3'}"
DEFAULT_QUEUE_NAME = "default"
# Workers listen on these queues, the first one first.
WORKER_QUEUE_NAMES = ("high", "default", "low")

LOCK_TTL_SECONDS = 300
JOB_TIMEOUT_SECONDS = 600
JOB_RETRY_MAX = 2
JOB_RETRY_INTERVALS_SECONDS = (10, 30)
# A gate job runs only within this many seconds of its tick minute; after that
# the tick is dropped (a later tick will come), not run late.
TICK_TTL_SECONDS = 90
TICK_CLAIM_TTL_SECONDS = 3600
SCHEDULER_POLL_SECONDS = 5
# A lock that has existed this long without a job in any queue or registry
# belongs to a dispatch whose job was lost, so the gate may recover it.
ORPHAN_LOCK_GRACE_SECONDS = 30

QUEUE_CONNECTIONS = ("redis", "sync")
LOG_FORMATS = ("text", "json")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


@dataclass(frozen=True)
class Config:
    redis_url: str = DEFAULT_REDIS_URL
    redis_tls_insecure: bool = False
    database_url: str = DEFAULT_DATABASE_URL
    queue_connection: str = "redis"
    queue_name: str = DEFAULT_QUEUE_NAME
    log_level: str = "INFO"
    log_format: str = "text"
    lock_ttl_seconds: int = LOCK_TTL_SECONDS
    job_timeout_seconds: int = JOB_TIMEOUT_SECONDS
    tick_ttl_seconds: int = TICK_TTL_SECONDS
    scheduler_poll_seconds: int = SCHEDULER_POLL_SECONDS
    retry_intervals_seconds: tuple[int, ...] = JOB_RETRY_INTERVALS_SECONDS
    orphan_lock_grace_seconds: int = ORPHAN_LOCK_GRACE_SECONDS


def _choice(environ: dict, name: str, default: str, choices: tuple[str, ...], upper: bool = False) -> str:
    raw = environ.get(name, "").strip() or default
    value = raw.upper() if upper else raw.lower()
    if value not in choices:
        raise ConfigurationError(f"{name} must be one of {', '.join(choices)}, got {raw!r}")
    return value


def _positive_int(environ: dict, name: str, default: int) -> int:
    raw = environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if value <= 0:
        raise ConfigurationError(f"{name} must be a positive whole number of seconds, got {raw!r}")
    return value


def _int_list(environ: dict, name: str, default: tuple[int, ...]) -> tuple[int, ...]:
    raw = environ.get(name, "").strip()
    if not raw:
        return default
    try:
        values = tuple(int(part) for part in raw.split(","))
    except ValueError:
        values = ()
    if not values or any(value < 0 for value in values):
        raise ConfigurationError(f"{name} must be comma-separated whole seconds like '10,30', got {raw!r}")
    return values


def env_flag(environ: dict, name: str) -> bool:
    raw = environ.get(name, "").strip().lower()
    if raw in ("", "0", "false", "no", "off"):
        return False
    if raw in ("1", "true", "yes", "on"):
        return True
    raise ConfigurationError(f"{name} must be true or false, got {raw!r}")


def config_from_environ(environ: dict) -> Config:
    """Build a Config from a mapping of environment variables."""
    return Config(
        redis_url=environ.get("REDIS_URL", "").strip() or DEFAULT_REDIS_URL,
        redis_tls_insecure=env_flag(environ, "REDIS_TLS_INSECURE"),
        database_url=environ.get("DATABASE_URL", "").strip() or DEFAULT_DATABASE_URL,
        queue_connection=_choice(environ, "QUEUE_CONNECTION", "redis", QUEUE_CONNECTIONS),
        queue_name=environ.get("USAGE_SYNC_QUEUE", "").strip() or DEFAULT_QUEUE_NAME,
        log_level=_choice(environ, "LOG_LEVEL", "INFO", LOG_LEVELS, upper=True),
        log_format=_choice(environ, "LOG_FORMAT", "text", LOG_FORMATS),
        lock_ttl_seconds=_positive_int(environ, "USAGE_SYNC_LOCK_TTL_SECONDS", LOCK_TTL_SECONDS),
        job_timeout_seconds=_positive_int(environ, "USAGE_SYNC_JOB_TIMEOUT_SECONDS", JOB_TIMEOUT_SECONDS),
        tick_ttl_seconds=_positive_int(environ, "USAGE_SYNC_TICK_TTL_SECONDS", TICK_TTL_SECONDS),
        scheduler_poll_seconds=_positive_int(environ, "SCHEDULER_POLL_SECONDS", SCHEDULER_POLL_SECONDS),
        retry_intervals_seconds=_int_list(environ, "USAGE_SYNC_RETRY_INTERVALS", JOB_RETRY_INTERVALS_SECONDS),
        orphan_lock_grace_seconds=_positive_int(environ, "USAGE_SYNC_ORPHAN_LOCK_GRACE_SECONDS",
                                                ORPHAN_LOCK_GRACE_SECONDS),
    )


_config: Config | None = None


def use_utc() -> None:
    """Run the process in UTC: rq-scheduler 0.14 reads cron strings in local time."""
    os.environ["TZ"] = "UTC"
    time.tzset()


def get_config() -> Config:
    """Return the process's Config, loading `.env` and the environment on first use."""
    global _config
    if _config is None:
        load_dotenv(PROJECT_ROOT / ".env")
        _config = config_from_environ(dict(os.environ))
    return _config


def set_config(config: Config | None) -> None:
    """Replace the process's Config (tests and the CLI's overrides use this)."""
    global _config
    _config = config
