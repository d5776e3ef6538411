"""Monitoring for operators: a snapshot of the sync's state, its health verdict and its Prometheus metrics."""
