"""A throwaway self-signed certificate for the simulated panels' HTTPS mode.

The `cryptography` package is not installed in this project's virtualenv, so
the certificate comes from the `openssl` command-line tool.
"""

from __future__ import annotations

import shutil
import ssl
import subprocess
from pathlib import Path

OPENSSL_TIMEOUT_SECONDS = 60


def make_server_context(directory: Path) -> ssl.SSLContext:
    """Write a key and a certificate for 127.0.0.1 into `directory` and load them."""
    openssl = shutil.which("openssl")
    if openssl is None:
        raise RuntimeError("the simulator's TLS mode needs the openssl command; install it (apt-get install openssl)")
    key, cert = directory / "key.pem", directory / "cert.pem"
    command = [
        openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
        "-nodes", "-keyout", str(key), "-out", str(cert), "-days", "2",
        "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
    ]
    subprocess.run(command, check=True, capture_output=True, timeout=OPENSSL_TIMEOUT_SECONDS)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    return context
