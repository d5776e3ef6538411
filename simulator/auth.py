"""Access tokens with a limited life, shared by the simulated panels."""

from __future__ import annotations

import secrets
import threading
import time
from dataclasses import dataclass


@dataclass
class _Grant:
    issued: float
    uses: int = 0


class TokenStore:
    """Issues tokens that expire after `ttl_seconds` or `max_requests` checks.

    Expired tokens make the simulated panel return 401 (or its version's
    equivalent), which is how tests exercise a client's new login.
    """

    def __init__(self, ttl_seconds: float | None = None, max_requests: int | None = None):
        self.ttl_seconds = ttl_seconds
        self.max_requests = max_requests
        self._grants: dict[str, _Grant] = {}
        self._lock = threading.Lock()
        self.issued_count = 0

    def issue(self) -> str:
        token = secrets.token_urlsafe(24)
        with self._lock:
            self._grants[token] = _Grant(time.monotonic())
            self.issued_count += 1
        return token

    def check(self, token: str | None) -> bool:
        """Return whether `token` is valid, counting this check as one use."""
        if not token:
            return False
        with self._lock:
            grant = self._grants.get(token)
            if grant is None:
                return False
            grant.uses += 1
            too_old = self.ttl_seconds is not None and time.monotonic() - grant.issued > self.ttl_seconds
            too_used = self.max_requests is not None and grant.uses > self.max_requests
            if too_old or too_used:
                del self._grants[token]
                return False
            return True

    def expire_all(self) -> None:
        with self._lock:
            self._grants.clear()
