"""Base class for panel clients that talk to a panel through `PanelHttp`."""

from __future__ import annotations

import abc
import logging
import threading
from collections.abc import Iterator, Mapping, Sequence

from panels.base import PanelClient, PanelSettings
from panels.batching import UsageResult, chunked, iter_batches, merged, unique
from panels.http import PanelHttp
from panels.json_shapes import require_field, require_object
from worker.errors import PanelResponseError

logger = logging.getLogger(__name__)


class HttpPanelClient(PanelClient):
    """Owns the transport and logs in once, on first use or when asked to."""

    def __init__(self, settings: PanelSettings, *, headers: Mapping[str, str] | None = None):
        super().__init__(settings)
        self._login_lock = threading.Lock()
        self._logged_in = False
        self._http = PanelHttp(
            settings, auth_headers=self._auth_headers, relogin=self.login, headers=headers
        )

    @property
    def request_count(self) -> int:
        return self._http.request_count

    def close(self) -> None:
        self._http.close()

    def login(self) -> None:
        with self._login_lock:
            self._authenticate()
            self._logged_in = True

    def _ensure_login(self) -> None:
        # Logging in here, never inside a request, keeps a login from waiting
        # for a request slot that the calling request already holds.
        if self._logged_in:
            return
        with self._login_lock:
            if not self._logged_in:
                self._authenticate()
                self._logged_in = True

    @abc.abstractmethod
    def _authenticate(self) -> None:
        """Log in and store the token or session for `_auth_headers`."""

    @abc.abstractmethod
    def _auth_headers(self) -> Mapping[str, str]:
        """Return the headers that authenticate a request."""


class BearerTokenClient(HttpPanelClient):
    """A panel whose login is an OAuth2 password form that returns a bearer `access_token`.

    Marzban and Marzneshin share this login and read users in batches of
    `USERS_PER_REQUEST` names; subclasses set the token path, the panel's
    name for the log, and `_read_batch`.
    """

    TOKEN_PATH: str
    PANEL_NAME: str
    USERS_PER_REQUEST: int

    def __init__(self, settings: PanelSettings):
        self._token: str | None = None
        super().__init__(settings)

    def _auth_headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self._token}"} if self._token else {}

    def _authenticate(self) -> None:
        result = self._http.send(
            "POST",
            self.TOKEN_PATH,
            data={"username": self.settings.username, "password": self.settings.password},
            authenticated=False,
            secret=True,
        )
        body = require_object(result.json(), "login response", self.settings.id)
        token = require_field(body, "access_token", "login response", self.settings.id)
        if not isinstance(token, str) or not token:
            raise PanelResponseError(
                "login response: expected a non-empty string in 'access_token'",
                panel_id=self.settings.id,
            )
        self._token = token
        logger.info("logged in to %s panel %s as %r", self.PANEL_NAME, self.settings.id, self.settings.username)

    def read_usage(self, usernames: Sequence[str]) -> UsageResult:
        return merged(self.iter_usage(usernames))

    def iter_usage(self, usernames: Sequence[str]) -> Iterator[UsageResult]:
        self._ensure_login()
        batches = chunked(unique(usernames), self.USERS_PER_REQUEST)
        return iter_batches(
            batches, self._read_batch, lambda batch: batch,
            self.settings.max_concurrent_requests, self.settings.id,
        )

    @abc.abstractmethod
    def _read_batch(self, names: list[str]) -> UsageResult:
        """Read one batch of users with one request (or a few pages)."""
