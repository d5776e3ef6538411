"""Field helpers shared by the models."""

from datetime import datetime, timezone


def utc_now() -> datetime:
    """Naive UTC now: every timestamp column stores UTC without a zone, on every backend."""
    return datetime.now(timezone.utc).replace(tzinfo=None)
