"""``--demo``: the real collectors pointed at the built-in fleet simulator on loopback."""

from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path
from typing import Any

from exporter.config import ExporterConfig
from exporter.simulator import Simulator

DEMO_INTERVAL = "10s"
DEMO_TICK_SECONDS = 10.0
# Illustrative rates for the simulator's Kubernetes contexts and SSH pools, in SkyPilot's
# kubernetes.pricing shape: owned hardware has no list price, so the demo shows what a team
# might charge back internally.
DEMO_KUBERNETES_PRICING: dict[str, Any] = {
    "cpu": 0.032,
    "memory": 0.0043,
    "accelerators": {"L4": 0.60, "A100": 1.60, "H100": 2.80, "T4": 0.30},
}


@dataclass(frozen=True)
class DemoOptions:
    services: int
    replicas: int
    seed: int


def start_simulator(options: DemoOptions) -> Simulator:
    simulator = Simulator(
        services=options.services,
        replicas_per_service=options.replicas,
        seed=options.seed,
        tick_seconds=DEMO_TICK_SECONDS,
    )
    return simulator.start()


def demo_catalog_dir() -> Path:
    """The small v8 catalog shipped for the instance types the simulated fleet uses."""
    return Path(str(files("exporter.simulator") / "data" / "catalogs" / "v8"))


def demo_config(config: ExporterConfig, simulator: Simulator) -> ExporterConfig:
    """The configured sections with SkyServe aimed at the simulator and the demo price list."""
    collectors = dict(config.collectors)
    skyserve = dict(collectors.get("skyserve") or {"interval": DEMO_INTERVAL})
    skyserve["endpoint"] = simulator.url
    skyserve.pop("token_file", None)
    collectors["skyserve"] = skyserve
    pricing = dict(config.pricing or {})
    pricing["catalog_dir"] = str(demo_catalog_dir())
    pricing.setdefault("kubernetes", DEMO_KUBERNETES_PRICING)
    return ExporterConfig(collectors=collectors, pricing=pricing)
