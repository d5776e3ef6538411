"""Helpers for tests that start HTTP or Redis servers on 127.0.0.1 and stop them at the end."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time

import httpx

from tests.conftest import PROJECT_ROOT

LOOPBACK = "127.0.0.1"
START_TIMEOUT_SECONDS = 20


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((LOOPBACK, 0))
        return probe.getsockname()[1]


def start_process(command: list[str], env: dict, log_path) -> subprocess.Popen:
    """Start a project process in its own process group, with stdout and stderr in `log_path`."""
    with open(log_path, "w") as log:
        # The child keeps its own copy of the file descriptor.
        return subprocess.Popen(command, cwd=PROJECT_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True)


def start_manage(args: list[str], env: dict, log_path) -> subprocess.Popen:
    return start_process([sys.executable, "manage.py", *args], env, log_path)


def stop_process(process: subprocess.Popen) -> None:
    """Stop a process started by `start_process`, and its children, by its own process group."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(10)


def wait_for_http(url: str, process: subprocess.Popen, log_path, auth=None) -> httpx.Response:
    """Poll `url` until it returns a response; fail with the process's output if it exits or times out."""
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"process exited with {process.returncode}:\n{open(log_path).read()[-4000:]}")
        try:
            return httpx.get(url, auth=auth, timeout=5)
        except httpx.TransportError:
            time.sleep(0.1)
    raise AssertionError(f"{url} did not respond within {START_TIMEOUT_SECONDS} s:\n{open(log_path).read()[-4000:]}")
