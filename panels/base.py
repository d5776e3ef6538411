"""The interface every panel client implements, and the values it returns."""

from __future__ import annotations

import abc
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

from worker.errors import PanelError

DEFAULT_CONNECT_TIMEOUT_SECONDS = 5.0
DEFAULT_READ_TIMEOUT_SECONDS = 15.0
DEFAULT_MAX_CONCURRENT_REQUESTS = 4
DEFAULT_MAX_ATTEMPTS = 3
DEFAULT_BACKOFF_SECONDS = 0.5


@dataclass(frozen=True)
class PanelSettings:
    """What a client needs to reach one panel; built from a `panels` row."""

    id: int
    name: str
    type: str  # "marzban" | "marzneshin" | "xui"
    base_url: str  # for 3x-ui this includes the web base path
    username: str
    password: str = field(repr=False)
    verify_tls: bool = True
    api_token: str | None = field(default=None, repr=False)  # 3x-ui 3.1+ bearer token
    connect_timeout_seconds: float = DEFAULT_CONNECT_TIMEOUT_SECONDS
    read_timeout_seconds: float = DEFAULT_READ_TIMEOUT_SECONDS
    max_concurrent_requests: int = DEFAULT_MAX_CONCURRENT_REQUESTS
    max_attempts: int = DEFAULT_MAX_ATTEMPTS
    backoff_seconds: float = DEFAULT_BACKOFF_SECONDS


class UserUsage(NamedTuple):
    """One user's traffic as the panel reports it, in bytes.

    `used_bytes` is the panel's current counter (it drops to 0 on a reset).
    `lifetime_bytes` is the panel's counter of all bytes ever used, across
    resets, or None when the panel version has no such counter.
    `enabled` is whether the panel currently lets the user connect.

    A named tuple, because a bulk read builds one per user: on Python 3.11
    it is created in about 60% of a frozen dataclass's time and is smaller.
    """

    username: str
    used_bytes: int
    lifetime_bytes: int | None
    enabled: bool


@dataclass(frozen=True)
class PanelInfo:
    """What `panels check` reports."""

    version: str | None
    user_count: int


class PanelClient(abc.ABC):
    """One panel's API: log in once, read usage in bulk, disable and enable users.

    A client is used by one sync run and closed at its end. Methods raise
    `PanelError` subclasses; `read_usage` reports per-user failures in its
    result instead of raising, so one bad user never hides the others.
    """

    def __init__(self, settings: PanelSettings):
        self.settings = settings

    @abc.abstractmethod
    def login(self) -> None:
        """Authenticate and keep the token or session for later calls."""

    @abc.abstractmethod
    def read_usage(self, usernames: Sequence[str]) -> dict[str, UserUsage | PanelError]:
        """Return each requested user's usage, or the error that kept it from being read."""

    def iter_usage(self, usernames: Sequence[str]) -> Iterator[dict[str, UserUsage | PanelError]]:
        """Yield `read_usage`'s result in parts, so that a caller can store each part and drop it.

        Together the parts hold what `read_usage` returns. This default
        yields it whole; clients that read users in batches yield each batch.
        """
        yield self.read_usage(usernames)

    @abc.abstractmethod
    def disable_user(self, username: str) -> None:
        """Stop the user from connecting; succeeds when already disabled."""

    @abc.abstractmethod
    def enable_user(self, username: str) -> None:
        """Let the user connect again; succeeds when already enabled."""

    @abc.abstractmethod
    def check(self) -> PanelInfo:
        """Log in and return the panel's version (when it reports one) and user count."""

    @property
    def request_count(self) -> int:
        """HTTP requests this client has sent, for the summary and the benchmark."""
        return 0

    def close(self) -> None:
        """Release the client's connections."""

    def __enter__(self) -> PanelClient:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()
