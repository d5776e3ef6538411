"""Logging for every process: `[timestamp] LEVEL logger: message` or one JSON object a line.

RQ configures only its own `rq.worker` logger, so the scheduler, the worker,
each job and the CLI call `configure_logging` themselves. Ids that a line is
about (job, reseller, panel, config) travel as `extra=` fields and, for the
job id, through a context variable set by the running job.
"""

from __future__ import annotations

import contextvars
import json
import logging
import sys
from contextlib import contextmanager
from datetime import datetime, timezone

TEXT_FORMAT = "[%(asctime)s] %(levelname)s %(name)s: %(message)s"
ID_FIELDS = ("job_id", "reseller_id", "panel_id", "config_id", "tick")

current_job_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("current_job_id", default=None)
current_tick: contextvars.ContextVar[str | None] = contextvars.ContextVar("current_tick", default=None)

# Threads a job starts (the panel reads' ThreadPoolExecutor, the lock renewer)
# begin with an empty context in Python 3.11, so the innermost open
# log_context is also kept process-wide and used for their records. RQ's
# forking worker runs one job per work horse, so it cannot label another job.
_open_contexts: list[tuple[str | None, str | None]] = []


class ContextFilter(logging.Filter):
    """Adds the running job's id and tick to every record that does not carry its own."""

    def filter(self, record: logging.LogRecord) -> bool:
        job_id, tick = current_job_id.get(), current_tick.get()
        if job_id is None and tick is None and _open_contexts:
            job_id, tick = _open_contexts[-1]
        if getattr(record, "job_id", None) is None:
            record.job_id = job_id
        if getattr(record, "tick", None) is None:
            record.tick = tick
        return True


@contextmanager
def log_context(job_id: str | None = None, tick: str | None = None):
    """Tag every record logged inside the block with `job_id` and `tick`; the previous values return after it.

    An argument left as None keeps the enclosing block's value, so a sync run
    inline by a gate keeps the gate's tick. Resetting matters when jobs run in
    one process one after another (an inline sync, a SimpleWorker), so that one
    job's id never labels the next job's lines.
    """
    job_id = job_id if job_id is not None else current_job_id.get()
    tick = tick if tick is not None else current_tick.get()
    job_token = current_job_id.set(job_id)
    tick_token = current_tick.set(tick)
    _open_contexts.append((job_id, tick))
    try:
        yield
    finally:
        _open_contexts.pop()
        current_tick.reset(tick_token)
        current_job_id.reset(job_token)


class UtcTextFormatter(logging.Formatter):
    """The text format, with UTC timestamps whatever the host's time zone."""

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        stamp = datetime.fromtimestamp(record.created, timezone.utc)
        return stamp.strftime("%Y-%m-%d %H:%M:%S,") + f"{int(record.msecs):03d}"


class JsonFormatter(logging.Formatter):
    """One JSON object a line, with the ids as top-level fields."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for field in ID_FIELDS:
            value = getattr(record, field, None)
            if value is not None:
                entry[field] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


_configured_signature: tuple[str, str] | None = None


def configure_logging(level: str = "INFO", log_format: str = "text", stream=None) -> None:
    """Send the root logger's records to stderr in the chosen format; safe to call again."""
    global _configured_signature
    signature = (level, log_format)
    root = logging.getLogger()
    if _configured_signature == signature and stream is None:
        return
    for handler in list(root.handlers):
        if getattr(handler, "_usage_sync", False):
            root.removeHandler(handler)
    handler = logging.StreamHandler(stream or sys.stderr)
    handler._usage_sync = True
    handler.setFormatter(JsonFormatter() if log_format == "json" else UtcTextFormatter(TEXT_FORMAT))
    handler.addFilter(ContextFilter())
    root.addHandler(handler)
    root.setLevel(level)
    # rq adds its own coloured handler to `rq.worker`; let its records reach ours instead.
    for name in ("rq.worker", "rq_scheduler.scheduler", "rq.scheduler"):
        rq_logger = logging.getLogger(name)
        for rq_handler in list(rq_logger.handlers):
            rq_logger.removeHandler(rq_handler)
        rq_logger.propagate = True
    for noisy in ("httpx", "httpcore", "peewee"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, logging.getLevelName(level)))
    _configured_signature = signature if stream is None else None
