"""The summary a sync run returns: what rq-dashboard shows as the job's result."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field


@dataclass
class SyncSummary:
    resellers: int = 0
    configs_synced: int = 0
    configs_failed: int = 0
    panels_failed: int = 0
    pending_operations: int = 0
    duration_seconds: float = 0.0
    # Panel id -> the error that kept the panel from being read.
    failed_panels: dict[int, str] = field(default_factory=dict)
    http_requests: int = 0

    def to_dict(self) -> dict:
        data = asdict(self)
        data["failed_panels"] = {str(key): value for key, value in self.failed_panels.items()}
        data["duration_seconds"] = round(self.duration_seconds, 3)
        return data

    def describe(self) -> str:
        """Format the counts an operator greps for as one log line."""
        text = (
            f"resellers={self.resellers} configs_synced={self.configs_synced} "
            f"configs_failed={self.configs_failed} panels_failed={self.panels_failed} "
            f"pending_operations={self.pending_operations} duration={self.duration_seconds:.3f}s"
        )
        if self.failed_panels:
            failures = "; ".join(f"panel {pid}: {error}" for pid, error in sorted(self.failed_panels.items()))
            text += f" failed_panels=[{failures}]"
        return text
