"""The Redis connection, shared by the scheduler, the workers, the jobs and the CLI."""

from __future__ import annotations

import logging
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

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
    if skips_tls_verification(config):
        options.update(ssl_cert_reqs=None, ssl_check_hostname=False)
    return redis.Redis.from_url(config.redis_url, **options)


def skips_tls_verification(config: Config) -> bool:
    """Return whether this Redis connection skips certificate checks, warning once per call.

    Some hosted Redis providers present self-signed certificates; the operator
    opts out of verification with REDIS_TLS_INSECURE=true for this URL only.
    """
    if not config.redis_tls_insecure:
        return False
    if urlsplit(config.redis_url).scheme != "rediss":
        logger.warning("REDIS_TLS_INSECURE is set but REDIS_URL %s does not use TLS (rediss://); it has no effect",
                       redact_url(config.redis_url))
        return False
    logger.warning("REDIS_TLS_INSECURE is set: the TLS certificate of %s is not verified",
                   redact_url(config.redis_url))
    return True


def url_with_tls_options(config: Config) -> str:
    """Return REDIS_URL with REDIS_TLS_INSECURE written into its query string.

    For clients that are built from a URL alone, such as rq-dashboard's.
    redis-py 7.4 `parse_url` passes `ssl_cert_reqs=none` through as a string,
    which SSLConnection maps to ssl.CERT_NONE, and reads `ssl_check_hostname`
    as a boolean.
    """
    if not skips_tls_verification(config):
        return config.redis_url
    parts = urlsplit(config.redis_url)
    query = dict(parse_qsl(parts.query))
    query.update(ssl_cert_reqs="none", ssl_check_hostname="false")
    return urlunsplit(parts._replace(query=urlencode(query)))


def describe_redis_error(config: Config, error: redis.RedisError) -> str:
    """Explain a failed Redis call for an operator: the redacted URL, the error and, for TLS, the fix."""
    text = f"Redis at {redact_url(config.redis_url)} failed: {type(error).__name__}: {error}"
    if "CERTIFICATE_VERIFY_FAILED" in str(error):
        text += (". The server's TLS certificate could not be verified; if your provider uses a "
                 "self-signed certificate, set REDIS_TLS_INSECURE=true")
    return text


def get_redis(config: Config | None = None) -> redis.Redis:
    """Return this process's client for the configured Redis URL."""
    config = config or get_config()
    key = f"{config.redis_url}|{config.redis_tls_insecure}"
    if key not in _connections:
        _connections[key] = connect_redis(config)
    return _connections[key]
