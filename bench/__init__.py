"""The sync benchmark: `python -m bench --help`; docs/benchmarks.md records its figures."""
