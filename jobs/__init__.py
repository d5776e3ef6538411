"""RQ jobs: the minute gate and SyncResellerUsageJob."""
