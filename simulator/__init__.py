"""A stdlib-only simulator of Marzban, Marzneshin and 3x-ui panels on 127.0.0.1.

Tests, the demo and the benchmark use it in place of real panels:

    with Simulator([PanelSpec(name="mz", type="marzban")]) as sim:
        url = sim.url_for("mz")

`python -m simulator --config FILE` runs the panels of a JSON file until Ctrl-C.
"""

from simulator.core import Simulator
from simulator.faults import COUNTER_FAULTS, RESPONSE_FAULTS
from simulator.panel import PanelSpec

__all__ = ["COUNTER_FAULTS", "RESPONSE_FAULTS", "PanelSpec", "Simulator"]
