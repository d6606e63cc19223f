"""``--demo``: the real collectors pointed at the built-in fleet simulator on loopback."""

from dataclasses import dataclass

from exporter.config import Sections
from exporter.simulator import Simulator

DEMO_INTERVAL = "10s"
DEMO_TICK_SECONDS = 10.0


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


def demo_sections(sections: Sections, simulator: Simulator) -> Sections:
    """The configured sections with the SkyServe collector aimed at the simulator."""
    merged = dict(sections)
    skyserve = dict(merged.get("skyserve") or {"interval": DEMO_INTERVAL})
    skyserve["endpoint"] = simulator.url
    skyserve.pop("token_file", None)
    merged["skyserve"] = skyserve
    return merged
