"""The HTTP server under each simulated panel, and the hostile responses it can send.

Each panel runs its own `ThreadingHTTPServer` on 127.0.0.1, speaking
HTTP/1.1 with keep-alive so clients can reuse connections. Loops that stream
or wait stop when the client disconnects, when the simulator stops, or after
`MAX_STREAM_SECONDS`, so no fault runs forever.
"""

from __future__ import annotations

import logging
import ssl
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING
from urllib.parse import parse_qs, urlsplit

from simulator.faults import Fault
from simulator.http import Request, Response, json_response

if TYPE_CHECKING:
    from simulator.panel import SimulatedPanel

logger = logging.getLogger(__name__)

HUGE_BODY_BYTES = 100 * 1024 * 1024
MAX_STREAM_SECONDS = 120.0
ENDLESS_CHUNK_INTERVAL_SECONDS = 0.05
_CHUNK = 64 * 1024
_HTML_PAGE = (
    b"<html><head><title>502 Bad Gateway</title></head>"
    b"<body><center><h1>502 Bad Gateway</h1></center><hr><center>nginx</center></body></html>"
)


class PanelHTTPServer(ThreadingHTTPServer):
    """Serves one simulated panel; handler threads never block shutdown."""

    daemon_threads = True
    block_on_close = False

    def __init__(self, port: int, panel: SimulatedPanel, tls: ssl.SSLContext | None):
        self.panel = panel
        self.tls = tls
        super().__init__(("127.0.0.1", port), PanelRequestHandler)

    def handle_error(self, request: object, client_address: object) -> None:
        # A client that drops the connection or rejects the certificate is
        # part of the tests, not a simulator failure.
        logger.debug("connection from %s ended with an error", client_address, exc_info=True)

    def get_request(self):  # type: ignore[no-untyped-def]
        sock, address = super().get_request()
        if self.tls is not None:
            # The handshake runs in the handler thread, so a stalled client
            # cannot block the accept loop.
            sock = self.tls.wrap_socket(sock, server_side=True, do_handshake_on_connect=False)
        return sock, address


class PanelRequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in separate writes; without TCP_NODELAY the
    # second write waits for the client's delayed ACK (about 40 ms).
    disable_nagle_algorithm = True
    server: PanelHTTPServer

    def setup(self) -> None:
        super().setup()
        if isinstance(self.connection, ssl.SSLSocket):
            self.connection.settimeout(10)
            try:
                self.connection.do_handshake()
            except (ssl.SSLError, OSError) as exc:
                logger.debug("TLS handshake failed: %s", exc)
                self.close_connection = True
                raise
            self.connection.settimeout(None)

    def handle(self) -> None:
        try:
            super().handle()
        except (ssl.SSLError, ConnectionError, TimeoutError):
            self.close_connection = True

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - stdlib signature
        logger.debug("%s: " + format, self.server.panel.spec.name, *args)

    def _dispatch(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        split = urlsplit(self.path)
        request = Request(
            method=self.command, path=split.path, target=self.path,
            query=parse_qs(split.query, keep_blank_values=True), headers=self.headers, body=body,
        )
        self.server.panel.handle(request, self)

    do_GET = do_POST = do_PUT = do_DELETE = _dispatch

    def send(self, response: Response) -> None:
        """Write a complete response with Content-Length."""
        self.send_response(response.status)
        self.send_header("Content-Type", response.content_type)
        self.send_header("Content-Length", str(len(response.body)))
        for name, value in response.headers:
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(response.body)

    def send_chunked(self, status: int, content_type: str, chunks: Iterator[bytes]) -> None:
        """Stream `chunks` with chunked transfer encoding until they end or the client leaves."""
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        try:
            for chunk in chunks:
                self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                self.wfile.flush()
            self.wfile.write(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError, OSError):
            pass
        self.close_connection = True


def _huge_chunks(stop: threading.Event) -> Iterator[bytes]:
    sent = 0
    yield b'{"users":['
    filler = b"0," * (_CHUNK // 2)
    while sent < HUGE_BODY_BYTES and not stop.is_set():
        yield filler
        sent += len(filler)
    yield b"0]}"


def _endless_chunks(stop: threading.Event) -> Iterator[bytes]:
    started = time.monotonic()
    yield b'{"users":['
    while not stop.is_set() and time.monotonic() - started < MAX_STREAM_SECONDS:
        yield b" "
        stop.wait(ENDLESS_CHUNK_INTERVAL_SECONDS)


def _send_stalled(writer: PanelRequestHandler, stop: threading.Event, hang_seconds: float) -> None:
    writer.send_response(200)
    writer.send_header("Content-Type", "application/json")
    writer.send_header("Content-Length", "1000")
    writer.end_headers()
    try:
        writer.wfile.write(b'{"users": [')
        writer.wfile.flush()
    except OSError:
        pass
    stop.wait(min(hang_seconds, MAX_STREAM_SECONDS))
    writer.close_connection = True


def send_fault(fault: Fault, request: Request, writer: PanelRequestHandler,
               stop: threading.Event, hang_seconds: float) -> None:
    """Respond to `request` as the fault prescribes."""
    kind = fault.kind
    if kind == "error":
        status = fault.status or 500
        writer.send(json_response(status, {"detail": "Internal Server Error"}))
    elif kind == "timeout":
        stop.wait(min(hang_seconds, MAX_STREAM_SECONDS))
        writer.close_connection = True  # no response at all
    elif kind == "stalled_body":
        _send_stalled(writer, stop, hang_seconds)
    elif kind == "endless":
        writer.send_chunked(200, "application/json", _endless_chunks(stop))
    elif kind == "huge_body":
        writer.send_chunked(200, "application/json", _huge_chunks(stop))
    elif kind == "invalid_json":
        writer.send(Response(fault.status or 200, b'{"users": [{"username": "a", '))
    elif kind == "html":
        writer.send(Response(fault.status or 200, _HTML_PAGE, "text/html"))
    elif kind == "redirect_loop":
        writer.send(Response(fault.status or 302, b"", "text/plain", [("Location", request.target)]))
    elif kind == "wrong_shape":
        writer.send(json_response(fault.status or 200, [1, 2, 3]))
    else:
        raise ValueError(f"unknown fault {kind!r}")
