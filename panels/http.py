"""HTTP transport shared by the panel clients.

One `PanelHttp` per panel client owns one `httpx.Client`, so connections are
reused across requests. On top of httpx it adds what a worker that polls
untrusted panels needs:

- an overall deadline per attempt, enforced while the body streams in, so a
  response that trickles forever is cut off (httpx's read timeout only bounds
  the gap between two reads);
- a maximum body size, checked while streaming, so a huge body is rejected
  without being held in memory;
- redirects followed only within the panel's own origin, with loop detection;
- bounded retries with exponential backoff on connection errors, timeouts
  and 5xx responses, never on other 4xx responses;
- one new login and one retry when the panel rejects the session (401);
- a cap on concurrent requests per panel, so callers may use threads;
- a count of the HTTP requests sent.

Environment proxy settings are ignored (`trust_env=False`), so a worker's
HTTP_PROXY never redirects panel traffic without an explicit change here.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Callable, Collection, Mapping
from typing import Any, NamedTuple

import httpx

from panels.base import PanelSettings
from panels.deadline import DeadlineWatchdog
from panels.http_result import HttpResult
from panels.http_status import check_status
from worker.errors import ConfigurationError, PanelError, PanelResponseError

logger = logging.getLogger(__name__)

# httpcore's DEBUG trace prints whole response headers, Set-Cookie session
# cookies included, so its records stop at INFO whatever the root level is.
logging.getLogger("httpcore").setLevel(logging.INFO)

MAX_RESPONSE_BYTES = 32 * 1024 * 1024
MAX_REDIRECTS = 5
# An attempt may take the connect timeout plus this many read timeouts in total.
DEADLINE_READ_TIMEOUTS = 2.0
_REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})

# Backoff waits call this attribute, so tests can replace it with a no-op.
sleep: Callable[[float], None] = time.sleep


class PanelConnectionError(PanelError):
    """The panel could not be reached or did not respond within its deadline."""


class _RetryableFailure(Exception):
    """One attempt failed in a way that another attempt may not repeat."""


class _Call(NamedTuple):
    """The arguments of one `PanelHttp.send`, repeated on each attempt."""

    method: str
    path: str
    params: Any
    data: Mapping[str, str] | None
    json_body: Any
    headers: Mapping[str, str] | None
    authenticated: bool
    secret: bool


def _is_certificate_error(exc: BaseException) -> bool:
    return "CERTIFICATE_VERIFY_FAILED" in str(exc) or "certificate verify failed" in str(exc)


def _same_origin(first: httpx.URL, second: httpx.URL) -> bool:
    return (first.scheme, first.host, first.port) == (second.scheme, second.host, second.port)


def _build_client(settings: PanelSettings, slots: int, headers: Mapping[str, str] | None) -> httpx.Client:
    """Create the panel's httpx client: timeouts, TLS, pool size and default headers."""
    timeout = httpx.Timeout(
        connect=settings.connect_timeout_seconds,
        read=settings.read_timeout_seconds,
        write=settings.read_timeout_seconds,
        pool=settings.connect_timeout_seconds,
    )
    transport = httpx.HTTPTransport(
        verify=settings.verify_tls,
        trust_env=False,
        limits=httpx.Limits(max_connections=slots, max_keepalive_connections=slots),
        # httpcore writes a request's headers and body separately, and
        # Nagle's algorithm would hold the body until the panel's delayed ACK.
        socket_options=[(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)],
    )
    return httpx.Client(
        transport=transport,
        timeout=timeout,
        follow_redirects=False,
        trust_env=False,
        # Identity keeps the size cap meaningful: a compressed body could
        # expand far past it inside a single decoded chunk.
        headers={"Accept": "application/json", "Accept-Encoding": "identity", **(headers or {})},
    )


class PanelHttp:
    """HTTP access to one panel, shared by the threads of one client."""

    def __init__(
        self,
        settings: PanelSettings,
        *,
        auth_headers: Callable[[], Mapping[str, str]] | None = None,
        relogin: Callable[[], None] | None = None,
        headers: Mapping[str, str] | None = None,
        max_response_bytes: int = MAX_RESPONSE_BYTES,
        deadline_seconds: float | None = None,
    ):
        if not settings.base_url.startswith(("http://", "https://")):
            raise ConfigurationError(
                f"panel {settings.name!r}: base_url must start with http:// or https://, "
                f"got {settings.base_url!r}"
            )
        self.settings = settings
        self._base_url = settings.base_url.rstrip("/")
        self._auth_headers = auth_headers
        self._relogin = relogin
        self._max_response_bytes = max_response_bytes
        if deadline_seconds is None:
            deadline_seconds = (
                settings.connect_timeout_seconds
                + DEADLINE_READ_TIMEOUTS * settings.read_timeout_seconds
            )
        self.deadline_seconds = deadline_seconds
        slots = max(1, settings.max_concurrent_requests)
        self._slots = threading.BoundedSemaphore(slots)
        self._count_lock = threading.Lock()
        self._request_count = 0
        self._auth_lock = threading.Lock()
        self._auth_epoch = 0
        self._client = _build_client(settings, slots, headers)

    @property
    def request_count(self) -> int:
        with self._count_lock:
            return self._request_count

    def clear_cookies(self) -> None:
        self._client.cookies.clear()

    def close(self) -> None:
        self._client.close()

    def send(
        self,
        method: str,
        path: str,
        *,
        params: Any = None,
        data: Mapping[str, str] | None = None,
        json_body: Any = None,
        headers: Mapping[str, str] | None = None,
        authenticated: bool = True,
        reauth_statuses: Collection[int] = (401,),
        accept_statuses: Collection[int] = (),
        secret: bool = False,
    ) -> HttpResult:
        """Send one request with retries and return its complete response.

        A 2xx response, or one whose status is in `accept_statuses`, is
        returned. When `authenticated` is true and the status is in
        `reauth_statuses`, the client logs in again once and repeats the
        request. Other responses raise PanelError subclasses. `secret` keeps
        the response body out of error messages (login responses carry tokens).
        """
        epoch = self._auth_epoch
        call = _Call(method, path, params, data, json_body, headers, authenticated, secret)
        result = self._send_with_retries(call)
        if authenticated and self._relogin is not None and result.status_code in reauth_statuses:
            logger.info(
                "panel %s returned HTTP %d to %s %s; logging in again",
                self.settings.id, result.status_code, method, path,
            )
            self._reauthenticate(epoch)
            result = self._send_with_retries(call)
        return check_status(result, self.settings, accept_statuses, authenticated)

    def _reauthenticate(self, epoch: int) -> None:
        # Threads that saw the same rejected session share one new login.
        with self._auth_lock:
            if self._auth_epoch == epoch and self._relogin is not None:
                self._relogin()
                self._auth_epoch += 1

    def _send_with_retries(self, call: _Call) -> HttpResult:
        attempts = max(1, self.settings.max_attempts)
        delay = self.settings.backoff_seconds
        for attempt in range(1, attempts + 1):
            try:
                result = self._send_once(call)
            except _RetryableFailure as exc:
                failure, cause, result = str(exc), exc, None
            else:
                if result.status_code < 500:
                    return result
                failure, cause = f"HTTP {result.status_code}", None
            if attempt < attempts:
                logger.warning(
                    "panel %s: %s %s failed (%s); retry %d of %d in %.2f s",
                    self.settings.id, call.method, call.path, failure, attempt, attempts - 1, delay,
                )
                sleep(delay)
                delay *= 2
        if result is not None:
            return result  # a 5xx response, for which check_status raises a retryable error
        raise PanelConnectionError(
            f"{call.method} {call.path} on panel {self.settings.name!r} failed after {attempts} "
            f"attempt(s): {failure}",
            panel_id=self.settings.id,
        ) from cause.__cause__

    def _send_once(self, call: _Call) -> HttpResult:
        headers = dict(call.headers or {})
        if call.authenticated and self._auth_headers is not None:
            headers.update(self._auth_headers())
        with self._slots:
            try:
                request = self._client.build_request(
                    call.method, self._base_url + call.path, params=call.params,
                    data=call.data, json=call.json_body, headers=headers,
                )
                return self._follow(request, call, headers)
            except httpx.TimeoutException as exc:
                raise _RetryableFailure(f"timed out ({type(exc).__name__})") from exc
            except httpx.ConnectError as exc:
                if _is_certificate_error(exc):
                    raise PanelError(
                        f"TLS certificate verification failed for panel {self.settings.name!r} "
                        f"at {self._base_url}: {exc}; install a trusted certificate on the "
                        "panel, or set verify_tls to false only for a panel you trust",
                        panel_id=self.settings.id, retryable=False,
                    ) from exc
                raise _RetryableFailure(f"connection failed: {exc}") from exc
            except (httpx.NetworkError, httpx.RemoteProtocolError) as exc:
                raise _RetryableFailure(f"connection broken: {exc}") from exc
            except (httpx.HTTPError, httpx.InvalidURL) as exc:
                raise PanelError(
                    f"{call.method} {call.path} on panel {self.settings.name!r} failed: {exc}",
                    panel_id=self.settings.id, retryable=False,
                ) from exc

    def _follow(self, request: httpx.Request, call: _Call, headers: Mapping[str, str]) -> HttpResult:
        """Send `request`, following same-origin redirects, and read the final body.

        NOTE: the deadline counts from here, but only the body read can be
        interrupted. Headers that trickle in stay bounded by the read timeout
        for each read, not by the deadline.
        """
        path = call.path
        started = time.monotonic()
        seen = {str(request.url)}
        for _ in range(MAX_REDIRECTS + 1):
            self._count()
            response = self._client.send(request, stream=True)
            try:
                target = self._redirect_target(request, response)
                if target is None:
                    body = self._read_body(response, path, started + self.deadline_seconds)
                    return HttpResult(
                        request.method, path, response.status_code,
                        response.headers.get("content-type", ""), body, self.settings.id, call.secret,
                    )
            finally:
                response.close()
            if str(target) in seen:
                raise PanelResponseError(
                    f"{request.method} {path} on panel {self.settings.name!r} entered a "
                    f"redirect loop at {target.path!r}; check base_url and the panel's proxy",
                    panel_id=self.settings.id,
                )
            seen.add(str(target))
            request = self._client.build_request(
                request.method, target, data=call.data, json=call.json_body, headers=headers
            )
        raise PanelResponseError(
            f"{request.method} {path} on panel {self.settings.name!r} was redirected more "
            f"than {MAX_REDIRECTS} times; check base_url",
            panel_id=self.settings.id,
        )

    def _redirect_target(self, request: httpx.Request, response: httpx.Response) -> httpx.URL | None:
        """Return the URL to follow, or None when the response is final."""
        location = response.headers.get("location")
        if response.status_code not in _REDIRECT_STATUSES or not location:
            return None
        target = request.url.join(location)
        if not _same_origin(request.url, target):
            return None  # a redirect to another host or scheme is reported, never followed
        if request.method not in ("GET", "HEAD") and response.status_code not in (307, 308):
            return None  # 301-303 would turn the request into a GET
        return target

    def _read_body(self, response: httpx.Response, path: str, deadline_at: float) -> bytes:
        limit = self._max_response_bytes
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            raise self._too_large(path, f"Content-Length {int(declared)}")
        watchdog = DeadlineWatchdog(response, deadline_at - time.monotonic())
        chunks: list[bytes] = []
        total = 0
        try:
            for chunk in response.iter_bytes():
                total += len(chunk)
                if total > limit:
                    raise self._too_large(path, f"at least {total} bytes")
                chunks.append(chunk)
                if time.monotonic() > deadline_at:
                    raise self._deadline_failure(path)
        except (httpx.TransportError, OSError) as exc:
            if watchdog.fired:
                raise self._deadline_failure(path) from exc
            raise
        finally:
            watchdog.cancel()
        return b"".join(chunks)

    def _too_large(self, path: str, size: str) -> PanelResponseError:
        return PanelResponseError(
            f"response to {path} on panel {self.settings.name!r} is too large ({size}); "
            f"the maximum is {self._max_response_bytes} bytes",
            panel_id=self.settings.id,
        )

    def _deadline_failure(self, path: str) -> _RetryableFailure:
        return _RetryableFailure(
            f"response to {path} did not finish within the {self.deadline_seconds:.1f} s deadline"
        )

    def _count(self) -> None:
        with self._count_lock:
            self._request_count += 1
