"""Process plumbing: configuration, Redis, logging, the unique lock and the worker entry point."""
