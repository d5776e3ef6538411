"""The Redis connection, shared by the scheduler, the workers, the jobs and the CLI."""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

import redis

from worker.config import Config, get_config
from worker.errors import ConfigurationError

logger = logging.getLogger(__name__)

_connections: dict[str, redis.Redis] = {}


def redact_url(url: str) -> str:
    """Return `url` with its password replaced by `***`."""
    parts = urlsplit(url)
    if not parts.password:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return parts._replace(netloc=netloc).geturl()


def connect_redis(config: Config) -> redis.Redis:
    """Open a client for `config.redis_url`; `rediss://` uses TLS."""
    scheme = urlsplit(config.redis_url).scheme
    if scheme not in ("redis", "rediss", "unix"):
        raise ConfigurationError(
            f"REDIS_URL must start with redis://, rediss:// or unix://, got {redact_url(config.redis_url)!r}"
        )
    options: dict = {"health_check_interval": 30, "socket_connect_timeout": 5}
    if scheme == "rediss" and config.redis_tls_insecure:
        # Some hosted Redis providers present self-signed certificates; the
        # operator opted out of verification for this connection only.
        logger.warning(
            "REDIS_TLS_INSECURE is set: the TLS certificate of %s is not verified",
            redact_url(config.redis_url),
        )
        options.update(ssl_cert_reqs=None, ssl_check_hostname=False)
    return redis.Redis.from_url(config.redis_url, **options)


def get_redis(config: Config | None = None) -> redis.Redis:
    """Return this process's client for the configured Redis URL."""
    config = config or get_config()
    key = f"{config.redis_url}|{config.redis_tls_insecure}"
    if key not in _connections:
        _connections[key] = connect_redis(config)
    return _connections[key]
