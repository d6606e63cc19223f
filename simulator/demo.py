"""What ``--demo`` needs to know about the simulated fleet: how often it changes and its prices.

The collectors' demo sections read these, so the exporter's framework names none of them.
"""

from importlib.resources import files
from pathlib import Path
from typing import Any, Final

# The fleet moves on every tick; polling at the same pace shows every change.
DEMO_TICK_SECONDS: Final = 10.0
DEMO_INTERVAL: Final = "10s"
# The jobs pools the demo's jobs controller keeps (simulator.pools.DEMO_POOLS): a busy autoscaling
# pool and an idle pool of 8xH100 workers.
DEMO_POOLS: Final = 2

# Illustrative rates for the simulator's Kubernetes contexts and SSH pools, in SkyPilot's
# kubernetes.pricing shape: owned hardware has no list price, so the demo shows what a team
# might charge back internally.
DEMO_KUBERNETES_PRICING: Final[dict[str, Any]] = {
    "cpu": 0.032,
    "memory": 0.0043,
    "accelerators": {"L4": 0.60, "A100": 1.60, "H100": 2.80, "T4": 0.30},
}


def demo_catalog_dir() -> Path:
    """The small v8 catalog shipped for the instance types the simulated fleet uses."""
    return Path(str(files("simulator") / "data" / "catalogs" / "v8"))
