"""Tick times: the minute a scheduler tick stands for, in UTC."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from worker.errors import InputError


def parse_tick(value: str | datetime) -> datetime:
    """Parse an ISO 8601 time (naive means UTC) and floor it to its minute, as an aware UTC datetime."""
    if isinstance(value, datetime):
        moment = value
    else:
        text = value.strip()
        if text.endswith("Z"):
            text = text[:-1] + "+00:00"
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            raise InputError(
                f"Invalid tick time {value!r}: expected ISO 8601 such as 2026-01-31T10:05 or 2026-01-31T10:05:00Z"
            ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc).replace(second=0, microsecond=0)


def tick_label(tick: datetime) -> str:
    """Format the tick's minute as Redis keys use it, e.g. 202601311005."""
    return tick.strftime("%Y%m%d%H%M")


def is_due(tick: datetime, interval_minutes: int) -> bool:
    """Due when the tick's minute of the hour is a multiple of the interval (every interval divides 60)."""
    return tick.minute % interval_minutes == 0


def due_ticks(start: datetime, minutes: int, interval_minutes: int) -> list[datetime]:
    """Return the ticks among the `minutes` minutes from `start` (inclusive) that are due at this interval."""
    first = parse_tick(start)
    ticks = (first + timedelta(minutes=offset) for offset in range(minutes))
    return [tick for tick in ticks if is_due(tick, interval_minutes)]
