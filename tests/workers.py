"""Helpers that run the project's real worker process against the scratch Redis and database."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from tests.conftest import PROJECT_ROOT

BURST_TIMEOUT_SECONDS = 120


def run_burst_worker(env: dict, with_scheduler: bool = False) -> subprocess.CompletedProcess:
    """Run `python -m worker --burst` until the queues are empty; return its output."""
    command = [sys.executable, "-m", "worker", "--burst",
               "--with-scheduler" if with_scheduler else "--without-scheduler"]
    return subprocess.run(command, cwd=PROJECT_ROOT, env=env, capture_output=True, text=True,
                          timeout=BURST_TIMEOUT_SECONDS)


def start_worker(env: dict, *extra: str) -> subprocess.Popen:
    """Start a long-running worker in its own process group (so a test can signal the group)."""
    return subprocess.Popen([sys.executable, "-m", "worker", *extra], cwd=PROJECT_ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)


def wait_for(predicate, timeout: float, interval: float = 0.1) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return predicate()


def child_pids(pid: int) -> list[int]:
    """Direct children of `pid`, read from /proc (Linux)."""
    children = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            children.append(int(entry))
    return children


def kill_process_tree(pid: int, sig: int = signal.SIGKILL) -> None:
    """Signal a worker and its work horse; RQ puts the horse in a session of its own."""
    for child in child_pids(pid):
        kill_process_tree(child, sig)
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        pass
