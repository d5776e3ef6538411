"""The web process: rq-dashboard behind HTTP basic auth, on $PORT.

Run it as `python -m worker.dashboard` (the Procfile's `web` entry). It
exits with an error at start without RQ_DASHBOARD_USERNAME and
RQ_DASHBOARD_PASSWORD, unless DASHBOARD_LOCAL_ONLY=true, which binds
127.0.0.1 instead of 0.0.0.0.

Facts about rq-dashboard 0.9.0 (rq_dashboard/cli.py and web.py) that shape
this module:
- its own basic auth (`add_basic_auth`) compares credentials with `!=`,
  which is not constant time, and is skipped when no username is set, so
  this module installs its own check instead;
- its CLI binds 0.0.0.0 by default and reads RQ_DASHBOARD_* variables;
- its blueprint builds the Redis client from RQ_DASHBOARD_REDIS_URL with
  redis-py's `from_url` at start and again for every request to a numbered
  instance (`push_rq_connection`), so TLS options must be in the URL itself.
"""

from __future__ import annotations

import hmac
import logging
import os
import sys
from dataclasses import dataclass, field

import click
from flask import Flask, Response, request
from rq_dashboard.cli import make_flask_app
from rq_dashboard.web import setup_rq_connection

from worker.config import Config, env_flag, get_config, use_utc
from worker.errors import ConfigurationError, UsageSyncError
from worker.logging_setup import configure_logging
from worker.redis_connection import redact_url, url_with_tls_options

logger = logging.getLogger(__name__)

# rq-dashboard's own default port, used when PORT is unset.
DEFAULT_PORT = 9181
LOCAL_HOST = "127.0.0.1"
PUBLIC_HOST = "0.0.0.0"
AUTH_REALM = "reseller-usage-sync dashboard"
USERNAME_VARIABLE = "RQ_DASHBOARD_USERNAME"
PASSWORD_VARIABLE = "RQ_DASHBOARD_PASSWORD"
LOCAL_ONLY_VARIABLE = "DASHBOARD_LOCAL_ONLY"


@dataclass(frozen=True)
class DashboardSettings:
    host: str
    port: int
    local_only: bool
    username: str | None = None
    # Left out of the repr so that logging the settings never prints the password.
    password: str | None = field(default=None, repr=False)

    @property
    def requires_auth(self) -> bool:
        return self.username is not None


def _parse_port(raw: str | None) -> int:
    text = (raw or "").strip()
    if not text:
        return DEFAULT_PORT
    if not text.isdigit() or not 1 <= int(text) <= 65535:
        raise ConfigurationError(f"PORT must be a TCP port number from 1 to 65535, got {raw!r}")
    return int(text)


def load_dashboard_settings(environ: dict) -> DashboardSettings:
    """Read the dashboard's port, bind address and credentials; raise ConfigurationError when unsafe."""
    port = _parse_port(environ.get("PORT"))
    local_only = env_flag(environ, LOCAL_ONLY_VARIABLE)
    username = environ.get(USERNAME_VARIABLE) or None
    password = environ.get(PASSWORD_VARIABLE) or None
    if (username is None) != (password is None):
        missing = USERNAME_VARIABLE if username is None else PASSWORD_VARIABLE
        raise ConfigurationError(
            f"{missing} is empty or unset but the other credential is set: set both "
            f"{USERNAME_VARIABLE} and {PASSWORD_VARIABLE} to protect the dashboard with basic auth"
        )
    if username is None and not local_only:
        raise ConfigurationError(
            f"The dashboard cannot start without credentials: set {USERNAME_VARIABLE} and "
            f"{PASSWORD_VARIABLE}, or set {LOCAL_ONLY_VARIABLE}=true to serve it on {LOCAL_HOST} only"
        )
    host = LOCAL_HOST if local_only else PUBLIC_HOST
    return DashboardSettings(host=host, port=port, local_only=local_only, username=username, password=password)


def credentials_match(given_username: str, given_password: str, username: str, password: str) -> bool:
    """Compare both credentials in constant time; both comparisons always run."""
    username_ok = hmac.compare_digest(given_username.encode("utf-8"), username.encode("utf-8"))
    password_ok = hmac.compare_digest(given_password.encode("utf-8"), password.encode("utf-8"))
    return username_ok & password_ok


def _install_basic_auth(app: Flask, username: str, password: str) -> None:
    # An app-level hook, unlike rq-dashboard's blueprint-level one, so it
    # also covers static files and any route a later version adds.
    @app.before_request
    def require_basic_auth():
        auth = request.authorization
        given_username = auth.username if auth is not None and auth.type == "basic" else None
        given_password = auth.password if auth is not None and auth.type == "basic" else None
        if credentials_match(given_username or "", given_password or "", username, password):
            return None
        if given_username is not None:
            logger.debug("Dashboard request from %s rejected: wrong credentials", request.remote_addr)
        return Response("Authentication required\n", 401,
                        {"WWW-Authenticate": f'Basic realm="{AUTH_REALM}", charset="UTF-8"'})


def create_app(config: Config, settings: DashboardSettings) -> Flask:
    """Build the rq-dashboard Flask app for this project's Redis, with basic auth when configured."""
    # No username here: rq-dashboard then skips its own `!=` check.
    app = make_flask_app(None, None, None, url_prefix="")
    app.config["DEPRECATED_OPTIONS"] = []
    app.config["RQ_DASHBOARD_REDIS_URL"] = url_with_tls_options(config)
    setup_rq_connection(app)
    if settings.requires_auth:
        _install_basic_auth(app, settings.username, settings.password)
    return app


@click.command()
def main() -> None:
    """Serve rq-dashboard for the usage sync queues on $PORT (default 9181).

    Needs RQ_DASHBOARD_USERNAME and RQ_DASHBOARD_PASSWORD, or
    DASHBOARD_LOCAL_ONLY=true to serve on 127.0.0.1 without them.
    """
    use_utc()
    try:
        config = get_config()
        settings = load_dashboard_settings(dict(os.environ))
    except UsageSyncError as error:
        raise click.ClickException(str(error)) from None
    configure_logging(config.log_level, config.log_format)
    # werkzeug logs every request at INFO, and the dashboard polls every 2.5 s.
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    app = create_app(config, settings)
    if not settings.requires_auth:
        logger.warning("%s is set: serving the dashboard without authentication on %s only",
                       LOCAL_ONLY_VARIABLE, LOCAL_HOST)
    logger.info("Dashboard listening on http://%s:%d for Redis %s (basic auth: %s)", settings.host, settings.port,
                redact_url(config.redis_url), "on" if settings.requires_auth else "off")
    # NOTE: this is werkzeug's development server, as rq-dashboard's own CLI
    # uses; it is threaded and fine for a few operators, not for public traffic.
    app.run(host=settings.host, port=settings.port, debug=False, use_reloader=False)


if __name__ == "__main__":
    sys.exit(main())
