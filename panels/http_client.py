"""Base class for panel clients that talk to a panel through `PanelHttp`."""

from __future__ import annotations

import abc
import threading
from collections.abc import Mapping

from panels.base import PanelClient, PanelSettings
from panels.http import PanelHttp


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
