"""The benchmark's simulated panels, served from a separate process.

The simulator runs in its own process so that its request handling does not
compete for the measured sync's GIL. The parent controls it over a pipe:
read the panels' URLs, read and reset the request counters, stop. The child
also stops by itself when the pipe closes (the parent died) or after
`max_seconds`, so a crashed benchmark never leaves it running.
"""

from __future__ import annotations

import multiprocessing
import time
from dataclasses import dataclass
from multiprocessing.connection import Connection

# A panel type as the benchmark's --panel-types option names it: the
# simulator's type and version.
PANEL_KINDS = {
    "marzban": ("marzban", "0.8.4"),
    "marzneshin": ("marzneshin", "0.7.4"),
    "xui": ("xui", "3.2.0"),
    "xui-v2": ("xui", "2.9.4"),
}
PANEL_PASSWORD = "bench-password"
# Traffic each simulated user adds a second, so the second sync finds every counter grown.
USER_BYTES_PER_SECOND = 4096
START_TIMEOUT_SECONDS = 60.0


@dataclass(frozen=True)
class BenchPanel:
    """One simulated panel of the run and the users it serves."""

    name: str
    kind: str  # a PANEL_KINDS key
    user_prefix: str
    user_count: int

    @property
    def type(self) -> str:
        return PANEL_KINDS[self.kind][0]

    def username(self, index: int) -> str:
        return f"{self.user_prefix}{index}"

    def spec(self, latency: float) -> dict:
        """Return the simulator's PanelSpec fields for this panel."""
        panel_type, version = PANEL_KINDS[self.kind]
        return {
            "name": self.name, "type": panel_type, "version": version, "password": PANEL_PASSWORD,
            "latency": latency, "seed": 1,
            "generated_users": {"prefix": self.user_prefix, "count": self.user_count, "used": 1 << 20,
                                "rate": USER_BYTES_PER_SECOND},
        }


def plan_panels(config_count: int, panel_count: int, kinds: list[str]) -> list[BenchPanel]:
    """Spread `config_count` users over `panel_count` panels, cycling through `kinds`."""
    panels = []
    for number in range(panel_count):
        users = config_count // panel_count + (1 if number < config_count % panel_count else 0)
        kind = kinds[number % len(kinds)]
        panels.append(BenchPanel(f"bench-{number}-{kind}", kind, f"p{number}u", users))
    return panels


def _serve(specs: list[dict], commands: Connection, max_seconds: float) -> None:
    """Run the panels in the child process and respond to the parent's commands."""
    from simulator import PanelSpec, Simulator

    simulator = Simulator(PanelSpec.from_dict(spec) for spec in specs)
    deadline = time.monotonic() + max_seconds
    with simulator:
        commands.send({name: simulator.url_for(name) for name in simulator.panel_names})
        while time.monotonic() < deadline:
            try:
                if not commands.poll(0.5):
                    continue
                command = commands.recv()
            except (EOFError, OSError):
                return
            if command == "stop":
                return
            if command == "counts":
                commands.send({name: simulator.request_counts(name) for name in simulator.panel_names})
            elif command == "reset":
                for name in simulator.panel_names:
                    simulator.reset_request_counts(name)
                commands.send(True)


class SimulatorProcess:
    """The simulated panels in a child process; use it as a context manager."""

    def __init__(self, panels: list[BenchPanel], latency: float, max_seconds: float):
        self.panels = panels
        self._specs = [panel.spec(latency) for panel in panels]
        self._max_seconds = max_seconds
        self._process: multiprocessing.Process | None = None
        self._commands: Connection | None = None
        self.urls: dict[str, str] = {}

    def __enter__(self) -> SimulatorProcess:
        context = multiprocessing.get_context("spawn")
        parent_end, child_end = context.Pipe()
        self._process = context.Process(target=_serve, args=(self._specs, child_end, self._max_seconds),
                                        name="bench-simulator", daemon=True)
        self._process.start()
        child_end.close()
        self._commands = parent_end
        try:
            if not parent_end.poll(START_TIMEOUT_SECONDS):
                raise RuntimeError(f"the simulator did not start within {START_TIMEOUT_SECONDS:.0f} s")
            self.urls = parent_end.recv()
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._commands is not None:
            try:
                self._commands.send("stop")
            except (BrokenPipeError, OSError):
                pass
            self._commands.close()
            self._commands = None
        if self._process is not None:
            self._process.join(10)
            if self._process.is_alive():
                self._process.kill()
                self._process.join(5)
            self._process = None

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    def request_counts(self) -> dict[str, dict[str, int]]:
        """Return each panel's requests received per endpoint since the last reset."""
        self._commands.send("counts")
        return self._commands.recv()

    def total_requests(self) -> int:
        return sum(sum(counts.values()) for counts in self.request_counts().values())

    def reset_counts(self) -> None:
        self._commands.send("reset")
        self._commands.recv()
