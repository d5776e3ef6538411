"""The health verdict: has a sync succeeded recently enough for the current interval?

A sync is due every `interval` minutes and may run for up to the job
timeout, so a healthy service finishes one within 3 intervals plus one job
timeout: that tolerates two missed or failed ticks in a row, plus the
slowest allowed run.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

MISSED_INTERVALS_ALLOWED = 3


@dataclass(frozen=True)
class HealthVerdict:
    healthy: bool
    reason: str
    threshold_seconds: int
    last_success_at: datetime | None
    seconds_since_success: float | None

    def to_dict(self) -> dict:
        return {
            "healthy": self.healthy,
            "reason": self.reason,
            "threshold_seconds": self.threshold_seconds,
            "last_success_at": self.last_success_at,
            "seconds_since_success": (
                round(self.seconds_since_success, 1) if self.seconds_since_success is not None else None
            ),
        }


def health_threshold_seconds(interval_minutes: int, job_timeout_seconds: int) -> int:
    """Seconds after the last success at which the service counts as unhealthy."""
    return MISSED_INTERVALS_ALLOWED * interval_minutes * 60 + job_timeout_seconds


def assess_health(
    last_success_at: datetime | None, now: datetime, interval_minutes: int, job_timeout_seconds: int
) -> HealthVerdict:
    """Judge health from the end time of the last successful sync; both datetimes are aware UTC."""
    threshold = health_threshold_seconds(interval_minutes, job_timeout_seconds)
    rule = (f"{MISSED_INTERVALS_ALLOWED} x {interval_minutes}-minute interval + "
            f"{job_timeout_seconds} s job timeout = {threshold} s")
    if last_success_at is None:
        return HealthVerdict(False, f"no sync has succeeded yet (allowed: {rule})", threshold, None, None)
    age = (now - last_success_at).total_seconds()
    if age > threshold:
        reason = f"the last successful sync finished {age:.0f} s ago, more than the {rule}"
        return HealthVerdict(False, reason, threshold, last_success_at, age)
    reason = f"the last successful sync finished {age:.0f} s ago (allowed: {rule})"
    return HealthVerdict(True, reason, threshold, last_success_at, age)
