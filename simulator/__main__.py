"""Run simulated panels from a JSON file until Ctrl-C: python -m simulator --config FILE."""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
import threading
from pathlib import Path

from simulator.core import Simulator

logger = logging.getLogger("simulator")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m simulator", description=__doc__)
    parser.add_argument("--config", required=True, type=Path,
                        help="JSON file with a 'panels' list (see simulator/example.json)")
    parser.add_argument("--log-level", default="INFO", help="logging level, e.g. DEBUG or INFO (default: INFO)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        config = json.loads(args.config.read_text(encoding="utf-8"))
        simulator = Simulator.from_config(config)
    except (OSError, ValueError, TypeError) as exc:
        print(f"invalid simulator config {str(args.config)!r}: {exc}", file=sys.stderr)
        return 2
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with simulator:
        for name in simulator.panel_names:
            panel = simulator.panel(name)
            print(f"{name}\t{panel.spec.type}\t{panel.spec.version}\t{simulator.url_for(name)}", flush=True)
        try:
            while not stop.wait(0.5):
                pass
        except KeyboardInterrupt:
            pass
    logger.info("simulator stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
